"""The shared configuration rules, unit by unit."""

from __future__ import annotations

import dataclasses
import json

import pytest

from identity.constants import (
    JWKS_URI_PROPERTY,
    REVOCABLE_JWT_PROPERTY,
    DPoPTokenExpirationValidationMode,
    GrantType,
    TokenExpiration,
)
from identity.domain.client import ClientClaim, Secret
from identity.validation.client_config import (
    LIFETIME_BOUNDS,
    cors_origin_problems,
    redirect_uri_problems,
    validate_client,
)
from identity.validation.client_support import (
    KNOWN_PROPERTIES,
    SUPPORTED_GRANT_TYPES,
    unsupported_problems,
)
from tests.factories import make_client, make_interactive_client, make_secret
from tests.fapi.jose import ec_key, jwk_secret, rsa_key


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


# ---- properties whose feature does not exist yet -----------------------------------------------

@pytest.mark.parametrize(("overrides", "field"), [
    ({"coordinate_lifetime_with_user_session": True}, "CoordinateLifetimeWithUserSession"),
    ({"enable_local_login": False}, "EnableLocalLogin"),
    ({"allowed_identity_token_signing_algorithms": ("ES256",)},
     "AllowedIdentityTokenSigningAlgorithms"),
    ({"protocol_type": "wsfed"}, "ProtocolType"),
    ({"protocol_type": "saml2p"}, "ProtocolType"),
    ({"client_secrets": (make_secret(type="X509Thumbprint"),)}, "ClientSecrets"),
    ({"client_secrets": (make_secret(type="X509Name"),)}, "ClientSecrets"),
    ({"client_secrets": (make_secret(type="X509CertificateBase64"),)}, "ClientSecrets"),
    ({"claims": (ClientClaim("age", "42", "int"),)}, "Claims"),
])
def test_unsupported_property_is_refused_naming_client_and_property(overrides, field) -> None:
    client = make_interactive_client(**overrides)
    messages = [p.describe("interactive") for p in validate_client(client)]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"client 'interactive', {field}: ")
    assert "not supported yet" in messages[0]
    assert unsupported_problems(client) == validate_client(client)


def test_custom_dpop_validation_mode_message_says_what_to_fix() -> None:
    problems = validate_client(make_client(
        dpop_validation_mode=DPoPTokenExpirationValidationMode.Custom))
    assert [p.describe("service.client") for p in problems] == [
        "client 'service.client', DPoPValidationMode: Custom is not supported: it needs "
        "validation code of your own, which this server has no place for; use Iat (1), Nonce "
        "(2) or IatAndNonce (3)."]


@pytest.mark.parametrize("overrides", [
    {"require_dpop": True}, {"require_pushed_authorization": True},
    {"require_request_object": True}, {"pushed_authorization_lifetime": 30},
    {"dpop_clock_skew": 10},
    {"dpop_validation_mode": DPoPTokenExpirationValidationMode.Nonce},
    {"dpop_validation_mode": DPoPTokenExpirationValidationMode.IatAndNonce},
])
def test_fapi_properties_are_honoured_not_refused(overrides) -> None:
    assert validate_client(make_interactive_client(**overrides)) == []


def test_a_public_jwk_secret_is_accepted() -> None:
    client = make_interactive_client(client_secrets=(
        make_secret(), jwk_secret(rsa_key("r1")), jwk_secret(ec_key("e1"))))
    assert validate_client(client) == []


@pytest.mark.parametrize(("value", "words"), [
    (lambda: "not json", "the JWK is not JSON"),
    (lambda: json.dumps({"kty": "oct", "k": "c2VjcmV0"}), "private or symmetric"),
    (lambda: json.dumps(rsa_key().as_dict(private=True)), "private or symmetric"),
], ids=["not-json", "symmetric", "private-rsa"])
def test_a_jwk_secret_that_is_not_a_public_key_is_refused(value, words) -> None:
    client = make_interactive_client(client_secrets=(make_secret(), Secret(value(), type="JWK")))
    messages = [p.describe("interactive") for p in validate_client(client)]
    assert len(messages) == 1, messages
    assert messages[0].startswith("client 'interactive', ClientSecrets: a JWK secret must hold "
                                  "the client's public key")
    assert words in messages[0]


def test_unknown_user_code_type_is_named() -> None:
    assert _fields(make_client(user_code_type="Emoji"))["user_code_type"] == [
        "'Emoji' is not a user code type; use Numeric (9 digits) or Letters (8 letters, the "
        "default when empty)."]


def test_unknown_protocol_type_is_named() -> None:
    assert _fields(make_client(protocol_type="oauth1"))["protocol_type"] == [
        "'oauth1' is unknown; set it to oidc."]


@pytest.mark.parametrize("overrides", [
    {"dpop_validation_mode": DPoPTokenExpirationValidationMode.Nonce, "dpop_clock_skew": 60},
    {"pushed_authorization_lifetime": 60}, {"user_code_type": "Numeric"},
    {"device_code_lifetime": 600}, {"ciba_lifetime": 120}, {"polling_interval": 5},
    {"allow_access_tokens_via_browser": True}, {"back_channel_logout_session_required": False},
    {"back_channel_logout_uri": "https://app.example.com/bc"},
    {"coordinate_lifetime_with_user_session": False},
    {"identity_provider_restrictions": ("Google",)},
    {"initiate_login_uri": "https://app.example.com/login"},
    {"client_uri": "https://app.example.com", "logo_uri": "https://app.example.com/logo.png"},
    {"properties": (("team", "blue"), ("RevocableJwtAccessTokens", "True"))},
    {"claims": (ClientClaim("tier", "gold", "http://www.w3.org/2001/XMLSchema#string"),)},
])
def test_inert_or_honoured_values_are_accepted(overrides) -> None:
    assert validate_client(make_interactive_client(**overrides)) == []


@pytest.mark.parametrize(("grant", "expected"), [
    ("implicit", "implicit is not supported yet by this server; remove it (supported: "
                 "authorization_code, client_credentials, "
                 "urn:ietf:params:oauth:grant-type:device_code)."),
    ("hybrid", "hybrid is not supported yet"), ("password", "password is not supported yet"),
    ("urn:openid:params:grant-type:ciba", "ciba is not supported yet"),
    ("refresh_token", "refresh tokens follow AllowOfflineAccess; remove it and set "
                      "AllowOfflineAccess to true."),
    ("delegation", "'delegation' is not supported: this server has no extension grants"),
])
def test_grant_types_without_a_grant_are_refused(grant, expected) -> None:
    client = make_client(allowed_grant_types=("client_credentials", grant),
                         redirect_uris=("https://app.example.com/cb",))
    assert any(expected in m for m in _fields(client)["allowed_grant_types"])


def test_supported_grant_types_are_those_the_token_endpoint_dispatches() -> None:
    from identity.grants.registry import GRANT_HANDLERS as TOKEN_GRANTS

    assert SUPPORTED_GRANT_TYPES == set(TOKEN_GRANTS) - {GrantType.REFRESH_TOKEN}


def test_known_properties_are_the_ones_the_server_reads() -> None:
    assert set(KNOWN_PROPERTIES) == {REVOCABLE_JWT_PROPERTY, JWKS_URI_PROPERTY}


@pytest.mark.parametrize(("pair", "expected"), [
    (("revocableJwtAccessTokens", "true"), "'revocableJwtAccessTokens' is not read (keys are "
                                           "case-sensitive); write it as "
                                           "'RevocableJwtAccessTokens'."),
    (("RevocableJwtAccessTokens", "yes"), "RevocableJwtAccessTokens is 'yes'; write true or "
                                          "false."),
])
def test_misspelt_known_property_is_refused(pair, expected) -> None:
    assert _fields(make_client(properties=(pair,)))["properties"] == [expected]


@pytest.mark.parametrize("url", ["ftp://app.example.com/jwks", "jwks.json",
                                 "https://app.example.com/jwks#keys", "https:///jwks"])
def test_jwks_uri_property_must_be_an_http_url(url) -> None:
    problems = _fields(make_client(properties=((JWKS_URI_PROPERTY, url),)))["properties"]
    assert problems == [f"{JWKS_URI_PROPERTY} is {url!r}; write the https URL of the client's "
                        f"JWK Set."]


def test_jwks_uri_property_with_an_https_url_is_accepted() -> None:
    client = make_client(properties=((JWKS_URI_PROPERTY, "https://app.example.com/jwks"),))
    assert validate_client(client) == []


# ---- lifetime bounds ---------------------------------------------------------------------------

def test_absurd_lifetime_names_the_bound() -> None:
    problem = validate_client(make_client(access_token_lifetime=3_000_000_000))[0]
    assert problem.describe("x") == ("client 'x', AccessTokenLifetime: is 3000000000 s; at most "
                                     "604800 s (7 days) is allowed.")


@pytest.mark.parametrize(("field", "bound", "words"), [
    ("access_token_lifetime", 604_800, "7 days"), ("identity_token_lifetime", 86_400, "1 day"),
    ("authorization_code_lifetime", 600, "10 minutes"),
    ("absolute_refresh_token_lifetime", 31_536_000, "365 days"),
    ("sliding_refresh_token_lifetime", 31_536_000, "365 days"),
    ("consent_lifetime", 315_360_000, "3650 days"), ("user_sso_lifetime", 31_536_000, "365 days"),
    ("pushed_authorization_lifetime", 600, "10 minutes"),
    ("device_code_lifetime", 3600, "1 hour"), ("ciba_lifetime", 3600, "1 hour"),
    ("polling_interval", 300, "5 minutes"), ("dpop_clock_skew", 3600, "1 hour"),
])
def test_every_lifetime_has_an_upper_bound(field, bound, words) -> None:
    assert LIFETIME_BOUNDS[field] == bound
    # Sliding expiration with no absolute cap, so that only the bound applies.
    base = {"refresh_token_expiration": TokenExpiration.Sliding,
            "absolute_refresh_token_lifetime": 0}
    assert validate_client(make_client(**{**base, field: bound})) == []
    assert _fields(make_client(**{**base, field: bound + 1}))[field] == [
        f"is {bound + 1} s; at most {bound} s ({words}) is allowed."]


def test_every_lifetime_attribute_is_bounded() -> None:
    from identity.domain.client import Client

    timed = {f.name for f in dataclasses.fields(Client)
             if f.name.endswith(("_lifetime", "_interval", "_skew"))}
    assert timed == set(LIFETIME_BOUNDS)


def test_sliding_refresh_lifetime_cannot_exceed_the_absolute_one() -> None:
    sliding = make_interactive_client(refresh_token_expiration=TokenExpiration.Sliding,
                                      absolute_refresh_token_lifetime=3600,
                                      sliding_refresh_token_lifetime=7200)
    assert _fields(sliding)["sliding_refresh_token_lifetime"] == [
        "is 7200 s, longer than AbsoluteRefreshTokenLifetime (3600 s), which caps it; make it at "
        "most 3600 s, or set AbsoluteRefreshTokenLifetime to 0 for no absolute limit."]
    assert validate_client(dataclasses.replace(sliding, absolute_refresh_token_lifetime=0)) == []
    # With absolute expiration the sliding lifetime is not used.
    assert validate_client(dataclasses.replace(
        sliding, refresh_token_expiration=TokenExpiration.Absolute)) == []
