"""Reading and writing IdentityServer's appsettings document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from identity.config_document import (
    ConfigDocumentError,
    dump_document,
    parse_document,
    parse_json,
)
from identity.constants import AccessTokenType, TokenExpiration, TokenUsage
from identity.hashing import hash_secret
from tests.factories import REFERENCE_DOCUMENT

SECRET = "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="


def _client(**fields) -> dict:
    return {"ClientId": "c1", "ClientSecrets": [{"Value": SECRET}],
            "AllowedGrantTypes": ["client_credentials"], **fields}


def _problems(data) -> list[str]:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_document(data)
    return exc.value.problems


def test_reference_document_is_accepted_as_it_is() -> None:
    doc = parse_json(REFERENCE_DOCUMENT)
    client = doc.clients[0]
    assert client.client_id == "local-dev"
    assert client.client_name == "Local Development"
    assert client.allowed_scopes == ("api1",)
    assert client.client_secrets[0].value == hash_secret("secret")
    assert client.client_secrets[0].type == "SharedSecret"
    assert [s.name for s in doc.resources.api_scopes] == ["api1", "api2.read_only"]
    assert any("IssuerUri" in n for n in doc.notes)


def test_unwrapped_section_and_bare_client_list_are_accepted() -> None:
    assert parse_document({"Clients": [_client()]}).clients[0].client_id == "c1"
    assert parse_document([_client()]).clients[0].client_id == "c1"


def test_defaults_follow_identityserver() -> None:
    client = parse_document([_client()]).clients[0]
    assert (client.enabled, client.require_pkce, client.require_consent) == (True, True, False)
    assert client.access_token_lifetime == 3600
    assert client.identity_token_lifetime == 300
    assert client.absolute_refresh_token_lifetime == 2592000
    assert client.refresh_token_usage is TokenUsage.OneTimeOnly
    assert client.client_claims_prefix == "client_"


def test_enums_by_name_or_integer_and_keys_case_insensitive() -> None:
    client = parse_document([_client(RefreshTokenUsage="ReUse", accesstokentype=1,
                                     RefreshTokenExpiration="0")]).clients[0]
    assert client.refresh_token_usage is TokenUsage.ReUse
    assert client.access_token_type is AccessTokenType.Reference
    assert client.refresh_token_expiration is TokenExpiration.Sliding


def test_configuration_strings_bind_like_dotnet() -> None:
    client = parse_document([_client(Enabled="false", AccessTokenLifetime="120",
                                     DPoPClockSkew="00:01:30")]).clients[0]
    assert client.enabled is False
    assert (client.access_token_lifetime, client.dpop_clock_skew) == (120, 90)


def test_unknown_key_is_named() -> None:
    assert any("unknown key 'AllowedGrantType'" in p and "Clients[0]" in p
               for p in _problems([_client(AllowedGrantType=["x"])]))


@pytest.mark.parametrize("field,value,expected", [
    ("Enabled", "maybe", "true or false"), ("AccessTokenLifetime", 1.5, "whole number"),
    ("AllowedScopes", "api1", "expected a list"), ("RefreshTokenUsage", "Sometimes", "ReUse (0)"),
    ("ClientName", 3, "expected a string"),
])
def test_wrong_types_are_named(field, value, expected) -> None:
    problems = _problems([_client(**{field: value})])
    assert any(field in p and expected in p for p in problems), problems


def test_plaintext_secret_is_refused() -> None:
    problems = _problems([_client(ClientSecrets=[{"Value": "secret"}])])
    assert any("never the secret itself" in p for p in problems)


def test_secret_expiration_is_read_as_utc() -> None:
    client = parse_document([_client(ClientSecrets=[
        {"Value": SECRET, "Expiration": "2030-01-01T00:00:00"}])]).clients[0]
    assert client.client_secrets[0].expiration == datetime(2030, 1, 1, tzinfo=UTC)


def test_rule_violations_name_client_and_field() -> None:
    problems = _problems([_client(AllowedGrantTypes=["implicit", "authorization_code"],
                                  RedirectUris=["https://a.example.com/cb"])])
    assert any(p.startswith("client 'c1', AllowedGrantTypes:") for p in problems)


def test_missing_client_id_and_duplicates_are_reported() -> None:
    assert any("ClientId is required" in p for p in _problems([{"AllowedGrantTypes": ["x"]}]))
    assert any("more than once" in p for p in _problems([_client(), _client()]))


def test_invalid_json_gives_line_and_column() -> None:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_json('{\n  "Clients": [\n    {"ClientId": "a" "b"}\n  ]\n}', "f.json")
    assert exc.value.problems == [
        "f.json: invalid JSON at line 3, column 22: Expecting ',' delimiter"]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems([_client(Enabled="x"), _client(ClientId="c2", Bogus=1)])
    assert len(problems) == 2


def test_dump_is_stable_and_round_trips() -> None:
    doc = parse_document({"ApiScopes": [{"Name": "b"}, {"Name": "a"}], "Clients": [
        _client(ClientId="z", AllowedScopes=["a"], Properties={"k": "v"},
                Claims=[{"Type": "role", "Value": "svc"}], RefreshTokenUsage="ReUse"),
        _client(ClientId="y")]})
    text = dump_document(doc.clients, doc.resources)
    again = parse_json(text)
    assert set(again.clients) == set(doc.clients)
    assert dump_document(again.clients, again.resources) == text
    section = json.loads(text)["IdentityServer"]
    assert [c["ClientId"] for c in section["Clients"]] == ["y", "z"]
    assert [s["Name"] for s in section["ApiScopes"]] == ["a", "b"]
    assert section["Clients"][1]["RefreshTokenUsage"] == "ReUse"
    assert section["Clients"][1]["DPoPClockSkew"] == "00:05:00"
