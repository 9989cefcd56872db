"""identity.validation.client_config: the configuration rules of a client (IdentityServer's
configuration validator, RFC 8252 §7 for redirect URIs, RFC 6454 for CORS origins)."""

from __future__ import annotations

from typing import Any

import pytest

from identity.constants import TokenExpiration
from identity.domain.client import Client
from identity.validation.client_config import (
    LIFETIME_BOUNDS,
    MAX_CLIENT_ID_LENGTH,
    MAX_URI_LENGTH,
    ConfigProblem,
    cors_origin_problems,
    grant_type_problems,
    is_loopback_host,
    redirect_uri_problems,
    scope_problems,
    validate_client,
    web_uri_problems,
)
from tests.factories import make_client, make_interactive_client


def fields(problems: list[ConfigProblem]) -> list[str]:
    """Return the field of each problem, in order."""
    return [p.field for p in problems]


def problems_of(**overrides: Any) -> list[ConfigProblem]:
    """Validate a valid authorization-code client with `overrides`."""
    return validate_client(make_interactive_client(**overrides))


@pytest.mark.parametrize("client", [make_client(), make_interactive_client()])
def test_factory_clients_are_valid(client: Client) -> None:
    assert validate_client(client) == []
    assert validate_client(client, known_scopes=client.allowed_scopes) == []


# client_id --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("client_id", "message"), [
    ("", "is required"),
    ("   ", "is required"),
    ("x" * (MAX_CLIENT_ID_LENGTH + 1), "longer than"),
    (" web", "must not start or end with spaces"),
    ("web ", "must not start or end with spaces"),
    ("we\tb", "control characters"),
    ("web\n", "must not start or end with spaces"),
    ("we\x00b", "control characters"),
])
def test_client_id_rules(client_id: str, message: str) -> None:
    problems = validate_client(make_client(client_id))
    assert fields(problems) == ["client_id"] and message in problems[0].message


@pytest.mark.parametrize("client_id", ["x" * MAX_CLIENT_ID_LENGTH, "my client", "urn:x:y",
                                       "клиент"])
def test_client_id_accepted(client_id: str) -> None:
    assert validate_client(make_client(client_id)) == []


# grant types ------------------------------------------------------------------------------------

def test_no_grant_type() -> None:
    problems = grant_type_problems([])
    assert fields(problems) == ["allowed_grant_types"] and "no grant type" in problems[0].message


@pytest.mark.parametrize("grant", ["", "client_credentials authorization_code", " x", "a\tb"])
def test_grant_type_with_spaces(grant: str) -> None:
    problems = grant_type_problems(["client_credentials", grant])
    assert len(problems) == 1 and "contains spaces" in problems[0].message


@pytest.mark.parametrize("pair", [("implicit", "authorization_code"), ("implicit", "hybrid"),
                                  ("authorization_code", "hybrid")])
def test_forbidden_combinations(pair: tuple[str, str]) -> None:
    messages = [p.message for p in grant_type_problems(pair)]
    assert any("cannot be combined" in m and "downgrade" in m for m in messages)


def test_supported_grants_combined() -> None:
    assert grant_type_problems(["authorization_code", "client_credentials"]) == []


def test_unsupported_grants_reported_through_client_support() -> None:
    (problem,) = grant_type_problems(["client_credentials", "password"])
    assert problem.message.startswith("password is not supported yet")


# duplicates -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("allowed_scopes", ("openid", "api1", "openid")),
    ("redirect_uris", ("https://a.example/cb", "https://a.example/cb")),
    ("post_logout_redirect_uris", ("https://a.example/", "https://a.example/")),
    ("allowed_cors_origins", ("https://a.example", "https://a.example")),
])
def test_duplicates_refused(field: str, value: tuple[str, ...]) -> None:
    problems = problems_of(**{field: value})
    assert fields(problems) == [field] and "listed more than once" in problems[0].message


def test_duplicate_grant_types_refused() -> None:
    problems = validate_client(make_client(allowed_grant_types=("client_credentials",) * 2))
    assert fields(problems) == ["allowed_grant_types"]
    assert "'client_credentials' listed more than once" in problems[0].message


# secrets, PKCE, redirect URIs per grant ---------------------------------------------------------

def test_client_credentials_needs_a_confidential_client() -> None:
    problems = validate_client(make_client(require_client_secret=False, client_secrets=()))
    assert fields(problems) == ["require_client_secret"]


def test_confidential_client_needs_a_secret() -> None:
    assert fields(validate_client(make_client(client_secrets=()))) == ["client_secrets"]
    assert fields(problems_of(client_secrets=())) == ["client_secrets"]


def test_public_code_client_needs_pkce() -> None:
    public = {"require_client_secret": False, "client_secrets": ()}
    assert problems_of(**public) == []
    assert fields(problems_of(**public, require_pkce=False)) == ["require_pkce"]
    assert problems_of(require_pkce=False) == []  # a confidential client may go without


def test_code_flow_needs_a_redirect_uri() -> None:
    problems = problems_of(redirect_uris=())
    assert fields(problems) == ["redirect_uris"]
    assert "authorization_code needs at least one redirect URI" in problems[0].message


# lifetimes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["identity_token_lifetime", "access_token_lifetime",
                                  "authorization_code_lifetime", "sliding_refresh_token_lifetime",
                                  "device_code_lifetime"])
@pytest.mark.parametrize("value", [0, -1])
def test_lifetimes_must_be_positive(name: str, value: int) -> None:
    problems = problems_of(**{name: value})
    assert fields(problems) == [name] and "positive" in problems[0].message


@pytest.mark.parametrize("name", ["consent_lifetime", "pushed_authorization_lifetime",
                                  "user_sso_lifetime", "ciba_lifetime", "polling_interval"])
def test_optional_lifetimes_are_positive_or_empty(name: str) -> None:
    assert problems_of(**{name: None}) == []
    assert problems_of(**{name: 1}) == []
    assert fields(problems_of(**{name: 0})) == [name]


def test_absolute_refresh_lifetime_zero_means_no_limit() -> None:
    assert problems_of(absolute_refresh_token_lifetime=0) == []
    assert fields(problems_of(absolute_refresh_token_lifetime=-1)) == [
        "absolute_refresh_token_lifetime"]


def test_negative_dpop_clock_skew() -> None:
    assert problems_of(dpop_clock_skew=0) == []
    assert fields(problems_of(dpop_clock_skew=-1)) == ["dpop_clock_skew"]


@pytest.mark.parametrize(("name", "bound"), sorted(LIFETIME_BOUNDS.items()))
def test_upper_bounds_are_inclusive(name: str, bound: int) -> None:
    # A sliding lifetime at its bound needs an absolute lifetime at least as long.
    base = {"absolute_refresh_token_lifetime": 0} if name == "sliding_refresh_token_lifetime" \
        else {}
    assert problems_of(**base, **{name: bound}) == []
    problems = problems_of(**base, **{name: bound + 1})
    assert fields(problems) == [name] and f"at most {bound} s" in problems[0].message


def test_bound_message_speaks_in_units() -> None:
    (problem,) = problems_of(authorization_code_lifetime=601)
    assert problem.message == "is 601 s; at most 600 s (10 minutes) is allowed."
    (problem,) = problems_of(access_token_lifetime=7 * 86400 + 1)
    assert "(7 days)" in problem.message


def test_access_tokens_outlive_no_published_key() -> None:
    # Key retention is 14 days: an access token must expire before its key is unpublished.
    assert LIFETIME_BOUNDS["access_token_lifetime"] < 14 * 86400


@pytest.mark.parametrize(("expiration", "absolute", "sliding", "refused"), [
    (TokenExpiration.Sliding, 3600, 7200, True),
    (TokenExpiration.Sliding, 7200, 7200, False),
    (TokenExpiration.Sliding, 0, 7200, False),      # no absolute limit
    (TokenExpiration.Absolute, 3600, 7200, False),  # sliding unused
])
def test_sliding_refresh_lifetime_within_the_absolute_one(
        expiration: TokenExpiration, absolute: int, sliding: int, refused: bool) -> None:
    problems = problems_of(refresh_token_expiration=expiration,
                           absolute_refresh_token_lifetime=absolute,
                           sliding_refresh_token_lifetime=sliding)
    assert fields(problems) == (["sliding_refresh_token_lifetime"] if refused else [])


# redirect URIs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "https://app.example.com/signin-oidc",
    "https://app.example.com:8443/cb?tenant=1",
    "http://localhost:5000/cb",
    "http://127.0.0.1/cb",
    "http://127.0.0.2:8080/cb",   # 127.0.0.0/8 is loopback
    "http://[::1]:8080/cb",
    "com.example.app:/oauth2redirect",
    "com.example.app://callback",
    "HTTPS://APP.EXAMPLE.COM/cb",
])
def test_redirect_uris_accepted(uri: str) -> None:
    assert redirect_uri_problems(uri) == []


@pytest.mark.parametrize(("uri", "message"), [
    ("", "must not be empty"),
    ("/signin-oidc", "absolute URI"),
    ("app.example.com/cb", "absolute URI"),
    ("https://app.example.com/cb#frag", "fragment"),
    ("https://app.example.com/cb#", "fragment"),
    ("https://app.example.com/c b", "spaces"),
    ("https://app.example.com/\tcb", "spaces"),
    ("https://app.example.com/\u00a0", "spaces"),   # no-break space
    ("https://app.example.com/\u200bcb", "spaces"),  # zero-width space: not printable
    ("http://app.example.com/cb", "http on a non-loopback host"),
    ("HTTP://app.example.com/cb", "http on a non-loopback host"),
    ("http://localhost.evil.example/cb", "http on a non-loopback host"),
    ("http://127.0.0.1.nip.io/cb", "http on a non-loopback host"),
    ("http://[::ffff:7f00:1]/cb", "http on a non-loopback host"),
    ("https://user:pw@app.example.com/cb", "user name or password"),
    ("http://127.0.0.1@evil.example/cb", "user name or password"),
    ("https://app.example.com:99999/cb", "invalid port"),
    ("https://app.example.com:port/cb", "invalid port"),
    ("https:///cb", "no host"),
    ("https:cb", "no host"),
    ("javascript:alert(1)", "not allowed"),
    ("JavaScript://%0aalert(1)", "not allowed"),
    ("data:text/html,hi", "not allowed"),
    ("file:///etc/passwd", "not allowed"),
    ("vbscript:msgbox", "not allowed"),
    ("myapp:/cb", "reverse domain name"),
    ("1app.example:/cb", "absolute URI"),           # a scheme starts with a letter
    ("https://" + "a" * MAX_URI_LENGTH, "longer than"),
])
def test_redirect_uris_refused(uri: str, message: str) -> None:
    problems = redirect_uri_problems(uri)
    assert len(problems) == 1 and message in problems[0]


def test_post_logout_redirect_uris_follow_the_same_rules() -> None:
    problems = problems_of(post_logout_redirect_uris=("http://app.example.com/",))
    assert fields(problems) == ["post_logout_redirect_uris"]


def test_every_bad_redirect_uri_is_reported() -> None:
    problems = problems_of(redirect_uris=("https://ok.example/cb", "http://a.example/",
                                          "javascript:x"))
    assert fields(problems) == ["redirect_uris", "redirect_uris"]


# other web URIs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["front_channel_logout_uri", "back_channel_logout_uri",
                                  "initiate_login_uri", "client_uri", "logo_uri"])
def test_web_uri_fields_checked(name: str) -> None:
    assert name in fields(problems_of(**{name: "http://app.example.com/x"}))


@pytest.mark.parametrize(("uri", "ok"), [
    ("https://app.example.com/logout", True),
    ("http://localhost:5000/logout", True),
    ("com.example.app:/logout", False),   # no private-use scheme outside redirects
    ("http://app.example.com/logout", False),
    ("https://app.example.com/logout#x", False),
])
def test_web_uri_problems(uri: str, ok: bool) -> None:
    assert (web_uri_problems(uri) == []) is ok


# CORS origins -----------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["https://app.example.com", "https://app.example.com:8443",
                                    "http://localhost:3000", "http://app.example.com"])
def test_bare_origins_accepted(origin: str) -> None:
    assert cors_origin_problems(origin) == []


@pytest.mark.parametrize("origin", [
    "https://app.example.com/",          # trailing slash
    "https://app.example.com/path",
    "https://app.example.com?x=1",
    "https://App.example.com",           # browsers send lower case
    "HTTPS://app.example.com",
    "https://user@app.example.com",
    "https://@app.example.com",
    "https://app.example.com:99999",
    "https://",
    "ftp://app.example.com",
    "com.example.app://x",
    "null",
    "*",
    "https://app.example.com#",
])
def test_non_origins_refused(origin: str) -> None:
    assert len(cors_origin_problems(origin)) == 1


@pytest.mark.parametrize("origin", ["https://app.example.com?", "https://app.example.com:",
                                    "https://app.example.com:0443"])
def test_origins_that_no_browser_sends_refused(origin: str) -> None:
    assert len(cors_origin_problems(origin)) == 1


def test_cors_origins_checked_in_validate_client() -> None:
    assert fields(problems_of(allowed_cors_origins=("https://a.example/",))) == [
        "allowed_cors_origins"]


# loopback hosts and scopes ----------------------------------------------------------------------

@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("127.0.0.1", True), ("127.255.255.254", True), ("::1", True),
    ("LOCALHOST", False), ("localhost.", False), ("[::1]", False), ("128.0.0.1", False),
    ("0.0.0.0", False), ("2130706433", False), ("example.com", False), ("", False),
])
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_scope_problems() -> None:
    assert scope_problems(["api1", "openid"], {"api1", "openid", "profile"}) == []
    (message,) = scope_problems(["zeta", "api1", "alpha", "zeta"], {"api1"})
    assert message.startswith("'alpha', 'zeta' not defined")


def test_known_scopes_checked_only_when_given() -> None:
    client = make_interactive_client(allowed_scopes=("openid", "nowhere"))
    assert validate_client(client) == []
    assert fields(validate_client(client, known_scopes={"openid"})) == ["allowed_scopes"]


def test_unsupported_values_and_algorithms_are_part_of_validate_client() -> None:
    client = make_client(dpop_validation_mode=0,
                         allowed_identity_token_signing_algorithms=("HS256",))
    assert fields(validate_client(client)) == [
        "dpop_validation_mode", "allowed_identity_token_signing_algorithms",
        "allowed_identity_token_signing_algorithms"]
