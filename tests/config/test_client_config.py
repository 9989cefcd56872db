"""The shared configuration rules, unit by unit."""

from __future__ import annotations

import pytest

from identity.validation.client_config import (
    cors_origin_problems,
    redirect_uri_problems,
    validate_client,
)
from tests.factories import make_client, make_interactive_client


def _fields(client, known=None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in validate_client(client, known):
        out.setdefault(p.field, []).append(p.message)
    return out


def test_reference_clients_pass() -> None:
    assert validate_client(make_client()) == []
    assert validate_client(make_interactive_client()) == []


@pytest.mark.parametrize("grants", [
    ("implicit", "authorization_code"), ("implicit", "hybrid"), ("authorization_code", "hybrid"),
])
def test_forbidden_grant_combinations_are_named(grants) -> None:
    problems = _fields(make_interactive_client(allowed_grant_types=grants))
    assert any("cannot be combined" in m for m in problems["allowed_grant_types"])


def test_several_compatible_grant_types_are_allowed() -> None:
    client = make_interactive_client(allowed_grant_types=("authorization_code",
                                                         "client_credentials"))
    assert validate_client(client) == []


@pytest.mark.parametrize("grants,expected", [
    ((), "no grant type"), (("client credentials",), "contains spaces"),
    (("client_credentials", "client_credentials"), "more than once"),
])
def test_grant_type_shape(grants, expected) -> None:
    assert any(expected in m for m in _fields(make_client(allowed_grant_types=grants))
               ["allowed_grant_types"])


def test_secret_required_for_client_credentials() -> None:
    problems = _fields(make_client(client_secrets=()))
    assert "client_credentials" in problems["client_secrets"][0]


def test_public_client_cannot_use_client_credentials() -> None:
    problems = _fields(make_client(require_client_secret=False, client_secrets=()))
    assert "confidential" in problems["require_client_secret"][0]


def test_public_code_client_needs_pkce() -> None:
    client = make_interactive_client(require_client_secret=False, client_secrets=(),
                                     require_pkce=False)
    assert "PKCE" in _fields(client)["require_pkce"][0]
    assert validate_client(make_interactive_client(require_client_secret=False,
                                                   client_secrets=())) == []


def test_code_flow_needs_a_redirect_uri() -> None:
    assert "redirect URI" in _fields(make_interactive_client(redirect_uris=()))["redirect_uris"][0]


@pytest.mark.parametrize("uri", [
    "https://app.example.com/cb", "http://localhost:5000/cb", "http://127.0.0.1/cb",
    "http://[::1]:8080/cb", "com.example.app:/oauth2redirect", "https://app.example.com/cb?x=1",
])
def test_acceptable_redirect_uris(uri) -> None:
    assert redirect_uri_problems(uri) == []


@pytest.mark.parametrize("uri,expected", [
    ("/relative/path", "absolute"), ("https://app.example.com/cb#frag", "fragment"),
    ("http://app.example.com/cb", "non-loopback"), ("javascript:alert(1)", "not allowed"),
    ("data:text/html,hi", "not allowed"), ("myapp:/cb", "reverse domain"),
    ("https://user:pw@app.example.com/cb", "user name"), ("https:///cb", "no host"),
    ("https://app.example.com/a b", "spaces"), ("http://localhost:99999/cb", "port"),
])
def test_bad_redirect_uris_say_what_to_fix(uri, expected) -> None:
    problems = redirect_uri_problems(uri)
    assert problems and expected in problems[0]


@pytest.mark.parametrize("origin", ["https://app.example.com", "http://localhost:3000"])
def test_bare_origins_pass(origin) -> None:
    assert cors_origin_problems(origin) == []


@pytest.mark.parametrize("origin", [
    "https://app.example.com/", "https://app.example.com/path", "https://APP.example.com",
    "ftp://example.com", "app.example.com", "https://app.example.com?x=1",
])
def test_non_bare_origins_fail(origin) -> None:
    assert cors_origin_problems(origin)


@pytest.mark.parametrize("field", ["access_token_lifetime", "identity_token_lifetime",
                                   "authorization_code_lifetime"])
def test_lifetimes_must_be_positive(field) -> None:
    assert "positive" in _fields(make_client(**{field: 0}))[field][0]


def test_unknown_scopes_are_named_when_scopes_are_known() -> None:
    client = make_client(allowed_scopes=("api1", "nope"))
    assert "'nope'" in _fields(client, {"api1"})["allowed_scopes"][0]
    assert "allowed_scopes" not in _fields(client)  # unknown set: not checked


def test_message_names_client_and_field() -> None:
    problem = validate_client(make_client(access_token_lifetime=-5))[0]
    assert problem.describe("service.client").startswith(
        "client 'service.client', AccessTokenLifetime:")
