"""`manage.py import_clients` and `export_clients` through their public surface."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from clients_app import models
from clients_app.stores import OrmClientStore
from identity.config_document import parse_json
from identity.hashing import hash_secret
from tests.factories import DEFINING_CLIENTS_EXAMPLE, REFERENCE_DOCUMENT

pytestmark = pytest.mark.django_db
SECRET = hash_secret("secret")


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _doc(clients=(), scopes=("api1", "api2.read_only"), **section) -> str:
    return json.dumps({"IdentityServer": {
        "ApiScopes": [{"Name": s} for s in scopes], "Clients": list(clients), **section}})


def _client(client_id: str = "c1", **fields) -> dict:
    return {"ClientId": client_id, "ClientSecrets": [{"Value": SECRET}],
            "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"], **fields}


def test_reference_document_imports_and_notes_ignored_options(write_json) -> None:
    out, err = _run("import_clients", str(write_json(REFERENCE_DOCUMENT)))
    assert "3 created" in out
    assert "IssuerUri" in err
    client = OrmClientStore().find_client_by_id("local-dev")
    assert client.client_secrets[0].value == "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="
    assert client.allowed_grant_types == ("client_credentials",)


def test_import_is_an_upsert_by_client_id(write_json) -> None:
    _run("import_clients", str(write_json(_doc([_client()]))))
    out, _ = _run("import_clients", str(write_json(_doc([_client(AccessTokenLifetime=60)]))))
    assert "1 changed" in out
    assert models.Client.objects.count() == 1
    assert OrmClientStore().find_client_by_id("c1").access_token_lifetime == 60
    out, _ = _run("import_clients", str(write_json(_doc([_client(AccessTokenLifetime=60)]))))
    assert "0 changed" in out and "0 created" in out


def test_document_naming_builtin_identity_resource_updates_it(write_json) -> None:
    doc = _doc([], IdentityResources=[{"Name": "profile", "DisplayName": "Profil",
                                       "UserClaims": ["name"]}])
    _run("import_clients", str(write_json(doc)))
    row = models.IdentityResource.objects.get(name="profile")
    assert row.display_name == "Profil"
    assert list(row.user_claims.values_list("type", flat=True)) == ["name"]
    assert models.IdentityResource.objects.filter(name="profile").count() == 1


def test_dry_run_prints_field_changes_and_writes_nothing(write_json) -> None:
    _run("import_clients", str(write_json(_doc([_client()]))))
    changed = _doc([_client(AccessTokenLifetime=60, AllowedScopes=["api1", "api2.read_only"]),
                    _client("c2")])
    out, _ = _run("import_clients", "--dry-run", str(write_json(changed)))
    assert "change client 'c1'" in out
    assert "AccessTokenLifetime: 3600 -> 60" in out
    assert "AllowedScopes: ['api1'] -> ['api1', 'api2.read_only']" in out
    assert "create client 'c2'" in out
    assert "dry run, nothing written" in out
    assert list(models.Client.objects.values_list("client_id", flat=True)) == ["c1"]
    assert OrmClientStore().find_client_by_id("c1").access_token_lifetime == 3600


def test_dry_run_never_prints_secret_hashes(write_json) -> None:
    _run("import_clients", str(write_json(_doc([_client()]))))
    other = _client(ClientSecrets=[{"Value": hash_secret("other")}])
    out, _ = _run("import_clients", "--dry-run", str(write_json(_doc([other]))))
    assert "ClientSecrets: 1 secret(s) -> 1 secret(s)" in out
    assert hash_secret("other") not in out and SECRET not in out


def test_prune_deletes_what_the_file_does_not_name_but_keeps_standard_resources(write_json):
    _run("import_clients", str(write_json(_doc([_client(), _client("c2")]))))
    out, _ = _run("import_clients", "--prune", str(write_json(_doc([_client()], scopes=["api1"]))))
    assert "delete client 'c2'" in out and "delete API scope 'api2.read_only'" in out
    assert list(models.Client.objects.values_list("client_id", flat=True)) == ["c1"]
    assert list(models.ApiScope.objects.values_list("name", flat=True)) == ["api1"]
    assert models.IdentityResource.objects.filter(name="openid").exists()


@pytest.mark.parametrize("text,expected", [
    ('{"Clients": [ {"ClientId": "a" "b"} ]}', "line 1, column 32: Expecting ',' delimiter"),
    (_doc([_client(Bogus=1)]), "unknown key 'Bogus'"),
    (_doc([_client(AccessTokenLifetime="soon")]), "AccessTokenLifetime: expected a whole number"),
    (_doc([_client(AllowedGrantTypes=["implicit", "authorization_code"],
                   RedirectUris=["https://a.example.com/"])]),
     "client 'c1', AllowedGrantTypes:"),
    (_doc([_client(AllowedScopes=["nope"])]), "client 'c1', AllowedScopes: 'nope' not defined"),
    (_doc([_client(ClientSecrets=[{"Value": "secret"}])]), "never the secret itself"),
])
def test_bad_input_fails_clearly_and_writes_nothing(write_json, text, expected) -> None:
    good = _client("good")
    data = json.loads(text) if text.startswith('{"IdentityServer"') else None
    if data is not None:
        data["IdentityServer"]["Clients"].insert(0, good)
        text = json.dumps(data)
    with pytest.raises(CommandError) as exc:
        _run("import_clients", str(write_json(text)))
    assert expected in str(exc.value)
    assert "nothing was imported" in str(exc.value)
    assert not models.Client.objects.exists()
    assert not models.ApiScope.objects.exists()


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(CommandError, match="cannot read the file"):
        _run("import_clients", str(tmp_path / "missing.json"))


def test_import_is_all_or_nothing_when_the_database_refuses(write_json, monkeypatch) -> None:
    from clients_app import importing

    def explode(*args, **kwargs):
        raise importing.transaction.DatabaseError("disk full")

    monkeypatch.setattr(importing, "_create_clients", explode)
    with pytest.raises(CommandError, match="disk full"):
        _run("import_clients", str(write_json(_doc([_client()]))))
    assert not models.ApiScope.objects.exists()


# Properties whose feature does not exist yet keep values the rules accept (defaults).
FULL_CLIENT = {
    "ClientId": "full", "Enabled": False, "ProtocolType": "oidc", "RequireClientSecret": True,
    "ClientName": "Full", "Description": "every field", "ClientUri": "https://full.example.com",
    "LogoUri": "https://full.example.com/logo.png", "RequireConsent": True,
    "AllowRememberConsent": False, "AllowedGrantTypes": ["authorization_code",
                                                         "client_credentials"],
    "RequirePkce": True, "AllowPlainTextPkce": True, "RequireRequestObject": False,
    "AllowAccessTokensViaBrowser": True, "RequireDPoP": False, "DPoPValidationMode": "Nonce",
    "DPoPClockSkew": "00:02:00",
    "ClientSecrets": [{"Value": SECRET, "Description": "old", "Expiration": "2031-05-01T10:00:00Z"},
                      {"Value": hash_secret("x", "sha512"), "Type": "SharedSecret"}],
    "RedirectUris": ["https://full.example.com/cb", "com.example.full:/cb"],
    "PostLogoutRedirectUris": ["https://full.example.com/"],
    "FrontChannelLogoutUri": "https://full.example.com/fc",
    "FrontChannelLogoutSessionRequired": False,
    "BackChannelLogoutUri": None,
    "BackChannelLogoutSessionRequired": False, "AllowOfflineAccess": True,
    "AllowedScopes": ["openid", "api1", "offline_access"],
    "AlwaysIncludeUserClaimsInIdToken": True, "IdentityTokenLifetime": 100,
    "AllowedIdentityTokenSigningAlgorithms": [], "AccessTokenLifetime": 200,
    "AuthorizationCodeLifetime": 30, "AbsoluteRefreshTokenLifetime": 1000,
    "SlidingRefreshTokenLifetime": 500, "ConsentLifetime": 86400,
    "PushedAuthorizationLifetime": 60, "RequirePushedAuthorization": False,
    "RefreshTokenUsage": "ReUse", "UpdateAccessTokenClaimsOnRefresh": True,
    "RefreshTokenExpiration": "Sliding", "AccessTokenType": "Reference",
    "EnableLocalLogin": True, "IdentityProviderRestrictions": ["Google"],
    "IncludeJwtId": False, "Claims": [{"Type": "role", "Value": "admin", "ValueType": "string"}],
    "AlwaysSendClientClaims": True, "ClientClaimsPrefix": "", "PairWiseSubjectSalt": "salt",
    "UserSsoLifetime": 3600, "UserCodeType": "Numeric", "DeviceCodeLifetime": 600,
    "CibaLifetime": 120, "PollingInterval": 5, "CoordinateLifetimeWithUserSession": False,
    "AllowedCorsOrigins": ["https://full.example.com"],
    "InitiateLoginUri": "https://full.example.com/login", "Properties": {"team": "blue"},
}


def test_export_then_import_changes_nothing_over_every_field(write_json) -> None:
    _run("import_clients", str(write_json(_doc([FULL_CLIENT, _client()], ApiResources=[
        {"Name": "api", "Scopes": ["api1"], "UserClaims": ["role"],
         "ApiSecrets": [{"Value": SECRET}], "Properties": {"a": "b"}}]))))
    exported, _ = _run("export_clients")
    section = json.loads(exported)["IdentityServer"]
    full = next(c for c in section["Clients"] if c["ClientId"] == "full")
    for key, value in FULL_CLIENT.items():
        if key != "ClientSecrets":
            assert full[key] == (value if value != "" else None), key
    assert full["ClientSecrets"][0]["Expiration"] == "2031-05-01T10:00:00Z"
    out, _ = _run("import_clients", str(write_json(exported, "export.json")))
    assert "0 created, 0 changed, 0 deleted" in out
    again, _ = _run("export_clients")
    assert again == exported


def test_export_named_clients_and_unknown_id(write_json) -> None:
    _run("import_clients", str(write_json(_doc([_client("a"), _client("b")]))))
    out, _ = _run("export_clients", "b")
    assert [c.client_id for c in parse_json(out).clients] == ["b"]
    with pytest.raises(CommandError, match="no client with id 'zz'"):
        _run("export_clients", "b", "zz")


def test_hash_secret_prints_identityserver_sha256(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    out, _ = _run("hash_secret")
    assert out.strip() == "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="
    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    out, _ = _run("hash_secret", "--sha512")
    assert len(out.strip()) == 88


def test_hash_secret_generate_prints_a_secret_and_its_hash() -> None:
    out, _ = _run("hash_secret", "--generate")
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert hash_secret(lines["secret"].strip()) == lines["hash"].strip()


# ---- the document as IdentityServer users have it; input that must fail cleanly -------------

DOCS_EXAMPLE = DEFINING_CLIENTS_EXAMPLE


def test_identityserver_documentation_example_imports_as_pasted(write_json) -> None:
    models.ApiScope.objects.create(name="api1")
    out, err = _run("import_clients", str(write_json(DOCS_EXAMPLE)))
    assert "create client 'local-dev'" in out
    assert "without outer braces; it was read as if wrapped in { }" in err
    client = OrmClientStore().find_client_by_id("local-dev")
    assert client.client_name == "Local Development"
    assert client.client_secrets[0].value == hash_secret("secret")


def test_appsettings_with_comments_imports(write_json) -> None:
    text = ('// appsettings.json\n{ "Logging": { "LogLevel": { "Default": "Warning" } },\n'
            '  "IdentityServer": { /* clients */ "ApiScopes": [ { "Name": "api1" }, ],\n'
            '    "Clients": [ ' + json.dumps(_client(ClientName="a // b /* c */, ]")) + ', ] } }')
    _run("import_clients", str(write_json(text)))
    assert models.Client.objects.get().client_name == "a // b /* c */, ]"


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"IdentityServer": {"Clients": [' + "[" * 100_000 + "]" * 100_000 + "]}}",
    '"IdentityServer": ' + "{" * 100_000,
])
def test_deep_nesting_fails_clearly_and_writes_nothing(write_json, text) -> None:
    with pytest.raises(CommandError) as exc:
        _run("import_clients", str(write_json(text)))
    message = str(exc.value)
    assert message.startswith("nothing was imported:")
    assert ": line 1, column " in message
    assert "the document nests deeper than 64 levels" in message
    assert "Traceback" not in message and "Recursion" not in message
    assert not models.Client.objects.exists() and not models.ApiScope.objects.exists()


@pytest.mark.parametrize(("raw", "expected"), [
    ("99999999999999999999", "('c1').AccessTokenLifetime: 99999999999999999999 is out of range"),
    ("1e400", "('c1').AccessTokenLifetime: 1e400 is out of range"),
    ("NaN", "invalid JSON at line 1, column"),
    ("Infinity", "Infinity is not a JSON number"),
    ("-Infinity", "Infinity is not a JSON number"),
    ("12.5", "('c1').AccessTokenLifetime: expected a whole number, got 12.5."),
])
def test_numbers_no_column_holds_fail_clearly_and_write_nothing(write_json, raw, expected):
    """On SQLite a 20-digit lifetime used to reach the database and end in OverflowError."""
    good, bad = json.dumps(_client("good")), json.dumps(_client())[:-1]
    text = _doc()[:-3] + good + ", " + bad + f', "AccessTokenLifetime": {raw}}}' + "]}}"
    with pytest.raises(CommandError) as exc:
        _run("import_clients", str(write_json(text)))
    assert expected in str(exc.value) and "nothing was imported" in str(exc.value)
    assert not models.Client.objects.exists() and not models.ApiScope.objects.exists()
