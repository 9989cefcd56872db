"""Builders of domain objects and rows for tests: defaults that pass the rules, overridable."""

from __future__ import annotations

from typing import Any

from identity.domain.client import Client, Secret
from identity.domain.resources import ApiResource, ApiScope, Resources
from identity.hashing import hash_secret


def make_secret(plaintext: str = "secret", **overrides: Any) -> Secret:
    """Return a stored secret whose plaintext is `plaintext`."""
    return Secret(value=hash_secret(plaintext), **overrides)


def make_client(client_id: str = "service.client", **overrides: Any) -> Client:
    """Return a valid client-credentials client, with fields overridden."""
    values: dict[str, Any] = {
        "client_secrets": (make_secret(),),
        "allowed_grant_types": ("client_credentials",),
        "allowed_scopes": ("api1",),
    }
    values.update(overrides)
    return Client(client_id=client_id, **values)


def make_interactive_client(client_id: str = "interactive", **overrides: Any) -> Client:
    """Return a valid authorization-code client, with fields overridden."""
    values: dict[str, Any] = {
        "client_secrets": (make_secret(),),
        "allowed_grant_types": ("authorization_code",),
        "allow_offline_access": True,
        "redirect_uris": ("http://localhost:21402/signin-oidc",),
        "post_logout_redirect_uris": ("http://localhost:21402/",),
        "front_channel_logout_uri": "http://localhost:21402/signout-oidc",
        "allowed_scopes": ("openid", "profile", "email", "api1", "api2.read_only"),
    }
    values.update(overrides)
    return Client(client_id=client_id, **values)


def make_resources() -> Resources:
    """Return the reference document's scopes, each owned by an API resource."""
    return Resources(
        api_scopes=(ApiScope(name="api1"), ApiScope(name="api2.read_only")),
        api_resources=(ApiResource(name="api1", scopes=("api1",)),
                       ApiResource(name="api2", scopes=("api2.read_only",))),
    )


REFERENCE_DOCUMENT = """{ "IdentityServer": { "IssuerUri": "",
  "ApiScopes": [ {"Name": "api1"}, {"Name": "api2.read_only"} ],
  "Clients": [
    { "Enabled": true, "ClientId": "local-dev", "ClientName": "Local Development",
      "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
      "AllowedGrantTypes": [ "client_credentials" ], "AllowedScopes": [ "api1" ] } ] } }
"""

# IdentityServer's "Defining Clients" page as shown there: a bare member, no outer braces, a
# trailing comma (the secret placeholder filled with the hash of "secret").
DEFINING_CLIENTS_EXAMPLE = """\
"IdentityServer": {
    "IssuerUri": "",
    "Clients": [
        {
            "Enabled": true,
            "ClientId": "local-dev",
            "ClientName": "Local Development",
            "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
            "AllowedGrantTypes": [ "client_credentials" ],
            "AllowedScopes": [ "api1" ],
        }
    ]
}
"""
