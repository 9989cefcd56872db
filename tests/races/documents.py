"""Import documents for the races: variants of two clients that differ in known fields."""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.core.management import CommandError, call_command

from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import load_document
from identity.hashing import hash_secret

API_SECRET = hash_secret("api-secret")
# What each variant changes of the first ("blue"): green and orange change different fields, so
# that an import that wrote only what differed from a stale read would leave a mix of the two.
CHANGES = {
    "blue": (),
    "green": ("ClientName", "AccessTokenLifetime", "RedirectUris", "PostLogoutRedirectUris",
              "AllowedScopes", "Claims"),
    "orange": ("ClientName", "AllowOfflineAccess", "ClientSecrets", "AllowedCorsOrigins",
               "Properties", "IdentityProviderRestrictions"),
}
CHANGES["purple"] = CHANGES["green"] + CHANGES["orange"]
_SCOPES = {"blue": ["openid"], "green": ["openid", "profile"], "purple": ["profile", "email"]}


def _client(prefix: str, name: str, variant: str) -> dict:
    site = f"https://{variant}.{name}.example.com"
    return {
        "ClientId": f"{prefix}.{name}", "ClientName": f"{name} ({variant})",
        "AccessTokenLifetime": 600 + len(variant), "AllowOfflineAccess": variant != "orange",
        "ClientSecrets": [{"Value": hash_secret(f"{variant}-{i}"), "Description": f"s{i}"}
                          for i in range(len(variant) % 3 + 1)],
        "AllowedGrantTypes": ["authorization_code"],
        "RedirectUris": [f"{site}/cb", f"{site}/cb2"],
        "PostLogoutRedirectUris": [f"{site}/"],
        "AllowedScopes": [*_SCOPES.get(variant, []), f"{prefix}.api"],
        "AllowedCorsOrigins": [site],
        "Claims": [{"Type": "tier", "Value": variant}, {"Type": "team", "Value": name}],
        "Properties": {"owner": variant, name: "yes"},
        "IdentityProviderRestrictions": [f"idp-{variant}"],
    }


def document(prefix: str, variant: str) -> dict:
    """Two clients, `{prefix}.web` and `{prefix}.app`, with every collection filled, and
    their API."""

    def client(name: str) -> dict:
        changed = _client(prefix, name, variant)
        return {key: changed[key] if key in CHANGES[variant] else value
                for key, value in _client(prefix, name, "blue").items()}

    # The same API in every variant: an import that changes a resource row locks it, which
    # would serialize the racing imports and hide the races on clients.
    return {"IdentityServer": {
        "ApiScopes": [{"Name": f"{prefix}.api", "UserClaims": ["email"]}],
        "ApiResources": [{"Name": f"{prefix}.api", "Scopes": [f"{prefix}.api"],
                          "UserClaims": ["email"], "ApiSecrets": [{"Value": API_SECRET}]}],
        "Clients": [client("web"), client("app")],
    }}


def write(folder: Path, prefix: str, variant: str) -> Path:
    """Write the document to a file; return its path."""
    path = folder / f"{prefix}-{variant}.json"
    path.write_text(json.dumps(document(prefix, variant)), encoding="utf-8")
    return path


def run_import(path: Path) -> str:
    """Run `manage.py import_clients`; return its summary line, or the message of a refusal."""
    out = io.StringIO()
    try:
        call_command("import_clients", str(path), stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return f"refused: {str(exc).splitlines()[0]}"
    return out.getvalue().splitlines()[-1]


def holds(path: Path) -> bool:
    """Whether the database holds what the document says, as a dry run compares it."""
    return not import_document(load_document(path), real_models(), dry_run=True).changes
