"""identity.validation.authorize_request: the two stages of an authorize request (RFC 6749
§4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from identity.domain.client import Client
from identity.errors import (
    InvalidRequest,
    InvalidRequestObject,
    InvalidScope,
    OAuthError,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from identity.http import authorization_request
from identity.http.authorization_request import (
    REQUEST_URI_PREFIX,
    AuthorizationParameters,
    check_required,
    resolve,
)
from identity.stores.memory import InMemoryClientStore
from identity.validation.authorize_request import (
    UntrustedRequest,
    trusted_client_and_redirect,
    validate_authorize_request,
)
from tests.factories import make_client, make_interactive_client
from tests.unit.support import VERIFIER, resource_store, s256

REDIRECT = "https://app.example.com/signin-oidc"
WEB = make_interactive_client(
    "web", redirect_uris=(REDIRECT, "http://127.0.0.1/native"),
    allowed_scopes=("openid", "profile", "email", "roles", "legacy", "api1", "api2.read_only",
                    "api.disabled", "ghost"))
CLIENTS = InMemoryClientStore([
    WEB,
    make_interactive_client("disabled", enabled=False, redirect_uris=(REDIRECT,)),
    make_client("service"),
])
RESOURCES = resource_store()
FACTORY = RequestFactory()


def request(**overrides: str | None) -> dict[str, str]:
    """Return a valid authorize request of the `web` client; None removes a parameter."""
    params: dict[str, str | None] = {
        "client_id": "web", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid profile api1", "state": "st", "nonce": "n-0S6",
        "code_challenge": s256(VERIFIER), "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def validate(client: Client = WEB, **overrides: str | None) -> Any:
    """Run the second stage for `client` on `request(**overrides)`."""
    return validate_authorize_request(request(**overrides), client, REDIRECT, RESOURCES)


# Stage one: client and redirect URI -------------------------------------------------------------

def test_trusted_client_and_registered_redirect() -> None:
    assert trusted_client_and_redirect(request(), CLIENTS) == (WEB, REDIRECT)


def test_loopback_redirect_returned_as_requested_with_its_port() -> None:
    params = request(redirect_uri="http://127.0.0.1:49152/native")
    assert trusted_client_and_redirect(params, CLIENTS) == (WEB, "http://127.0.0.1:49152/native")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"client_id": None}, "client_id is missing"),
    ({"client_id": "nobody"}, "unknown or disabled client"),
    ({"client_id": "disabled"}, "unknown or disabled client"),
    ({"client_id": "WEB"}, "unknown or disabled client"),  # ids are case-sensitive
    ({"redirect_uri": None}, "redirect_uri is missing"),
    ({"redirect_uri": REDIRECT + "/"}, "not registered"),
    ({"redirect_uri": "https://evil.example/signin-oidc"}, "not registered"),
    ({"client_id": "service"}, "not registered"),  # a client with no redirect URI at all
])
def test_untrusted_requests_are_never_redirected(overrides: dict[str, str | None],
                                                 message: str) -> None:
    with pytest.raises(UntrustedRequest, match=message) as caught:
        trusted_client_and_redirect(request(**overrides), CLIENTS)
    # RFC 6749 §4.1.2.1: without a valid client and redirect URI the user is not redirected.
    assert caught.value.redirectable is False
    assert caught.value.error == "invalid_request"


def test_other_errors_are_redirectable() -> None:
    with pytest.raises(OAuthError) as caught:
        validate(response_type=None)
    assert caught.value.redirectable is True


# Stage two: the other parameters ----------------------------------------------------------------

def test_valid_request() -> None:
    validated = validate(login_hint="alice", prompt="login consent", max_age="300")
    assert validated.client is WEB
    assert validated.redirect_uri == REDIRECT
    assert validated.response_mode == "query"
    assert validated.scopes == ("openid", "profile", "api1")
    assert {r.name for r in validated.resources.identity_resources} == {"openid", "profile"}
    assert {s.name for s in validated.resources.api_scopes} == {"api1"}
    assert {r.name for r in validated.resources.api_resources} == {"api1"}
    assert (validated.state, validated.nonce, validated.login_hint) == ("st", "n-0S6", "alice")
    assert validated.prompt == frozenset({"login", "consent"})
    assert validated.max_age == 300
    assert (validated.code_challenge, validated.code_challenge_method) == (s256(VERIFIER), "S256")
    assert validated.is_openid


def test_optional_parameters_absent() -> None:
    validated = validate(state=None, nonce=None, scope="api1")
    assert (validated.state, validated.nonce, validated.prompt, validated.max_age,
            validated.login_hint) == (None, None, frozenset(), None, None)
    assert not validated.is_openid


# `request` and `request_uri` are resolved before this validation (identity.http.
# authorization_request.resolve): the parameters it sees come from the query, the signed request
# object or the pushed request.

def test_a_query_without_request_or_request_uri_is_used_as_it_is() -> None:
    query = request()
    found = resolve(FACTORY.get("/connect/authorize"), query)
    assert (found.params, found.pushed_key, found.signed) == (query, None, False)


@pytest.mark.parametrize("uri", ["urn:example:req", "https://app.example.com/request.jwt",
                                 "urn:ietf:params:oauth:request_uri"])
def test_a_request_uri_not_from_par_is_not_supported(uri: str) -> None:
    with pytest.raises(RequestUriNotSupported):
        resolve(FACTORY.get("/connect/authorize"), request(request_uri=uri))


def test_a_par_request_uri_without_client_id_is_untrusted() -> None:
    with pytest.raises(UntrustedRequest, match="client_id"):
        resolve(FACTORY.get("/connect/authorize"),
                request(client_id=None, request_uri=REQUEST_URI_PREFIX + "abc"))


@pytest.fixture
def in_memory_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authorization_request, "get_client_store", lambda: CLIENTS)


@pytest.mark.parametrize("value", ["eyJhbGciOiJub25lIn0.e30.", "x", "a.b.c.d.e"])
def test_a_request_object_that_does_not_verify_is_invalid(in_memory_clients, value: str) -> None:
    # unsigned (alg none), not a JWS, encrypted (JWE): refused before anything else is read
    with pytest.raises(InvalidRequestObject):
        resolve(FACTORY.get("/connect/authorize"), request(request=value, response_type=None))


@pytest.mark.parametrize("client_id", ["nobody", "disabled", None])
def test_a_request_object_of_an_unknown_client_is_untrusted(in_memory_clients,
                                                            client_id: str | None) -> None:
    with pytest.raises(UntrustedRequest, match="client"):
        resolve(FACTORY.get("/connect/authorize"), request(client_id=client_id, request="x"))


@pytest.mark.parametrize(("overrides", "found", "words"), [
    ({"require_request_object": True}, AuthorizationParameters({}), "signed request object"),
    ({"require_request_object": True}, AuthorizationParameters({}, pushed_key="k"),
     "signed request object"),  # a push without a request object does not satisfy it
    ({"require_pushed_authorization": True}, AuthorizationParameters({}, signed=True),
     "pushed"),
])
def test_a_client_requirement_not_met_is_an_invalid_request(
        overrides: dict[str, Any], found: AuthorizationParameters, words: str) -> None:
    client = make_interactive_client("web", **overrides)
    with pytest.raises(InvalidRequest, match=words):
        check_required(client, found)


@pytest.mark.parametrize(("overrides", "found"), [
    ({}, AuthorizationParameters({})),
    ({"require_request_object": True}, AuthorizationParameters({}, signed=True)),
    ({"require_request_object": True}, AuthorizationParameters({}, pushed_key="k", signed=True)),
    ({"require_pushed_authorization": True}, AuthorizationParameters({}, pushed_key="k")),
])
def test_a_client_requirement_met_passes(overrides: dict[str, Any],
                                         found: AuthorizationParameters) -> None:
    check_required(make_interactive_client("web", **overrides), found)


def test_the_global_par_requirement_applies_to_every_client(identity_config) -> None:
    identity_config(REQUIRE_PUSHED_AUTHORIZATION=True)
    with pytest.raises(InvalidRequest, match="pushed"):
        check_required(WEB, AuthorizationParameters({}))
    check_required(WEB, AuthorizationParameters({}, pushed_key="k"))


def test_response_type_missing() -> None:
    with pytest.raises(InvalidRequest, match="response_type is missing"):
        validate(response_type=None)


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token",
                                           "Code", "code ", "none"])
def test_only_the_code_response_type_is_supported(response_type: str) -> None:
    with pytest.raises(UnsupportedResponseType) as caught:
        validate(response_type=response_type)
    assert caught.value.error == "unsupported_response_type"


def test_client_without_the_code_flow_unauthorized() -> None:
    client = make_interactive_client("web", allowed_grant_types=("client_credentials",),
                                     redirect_uris=(REDIRECT,))
    with pytest.raises(UnauthorizedClient):
        validate(client)


@pytest.mark.parametrize("overrides", [
    {"require_dpop": True}, {"require_pushed_authorization": True},
    {"require_request_object": True},
])
def test_fapi_requirements_are_not_refused_here(overrides: dict[str, Any]) -> None:
    # DPoP is the token endpoint's; PAR and request objects are check_required's.
    assert validate(make_interactive_client("web", **overrides)).client.client_id == "web"


@pytest.mark.parametrize("overrides", [
    {"coordinate_lifetime_with_user_session": True}, {"dpop_validation_mode": 0},
    {"enable_local_login": False},
    {"protocol_type": "wsfed"},
])
def test_client_configuration_the_server_cannot_honour_fails_closed(
        overrides: dict[str, Any]) -> None:
    client = make_interactive_client("web", **overrides)
    with pytest.raises(UnauthorizedClient, match="features this server does not support") \
            as caught:
        validate(client)
    assert caught.value.detail is not None and "client 'web'" in caught.value.detail


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post"])
def test_response_modes(mode: str) -> None:
    assert validate(response_mode=mode).response_mode == mode


@pytest.mark.parametrize("mode", ["jwt", "query.jwt", "Query", "web_message", "fragment "])
def test_unknown_response_mode_refused(mode: str) -> None:
    with pytest.raises(InvalidRequest, match="response_mode"):
        validate(response_mode=mode)


# Scopes -----------------------------------------------------------------------------------------

def test_scope_is_required() -> None:
    with pytest.raises(InvalidScope, match="scope is required"):
        validate(scope=None)


@pytest.mark.parametrize("scope", ["openid  api1", "openid\tapi1", 'openid "api1"'])
def test_malformed_scope_refused(scope: str) -> None:
    with pytest.raises(InvalidScope, match="malformed"):
        validate(scope=scope)


def test_scope_not_allowed_for_the_client_refused() -> None:
    with pytest.raises(InvalidScope, match="may not request shared phone$"):
        validate(scope="openid shared phone")


def test_offline_access_follows_allow_offline_access_not_allowed_scopes() -> None:
    assert "offline_access" not in WEB.allowed_scopes and WEB.allow_offline_access
    assert validate(scope="openid offline_access").scopes == ("openid", "offline_access")
    # OAuth without OpenID may have refresh tokens too.
    assert validate(scope="api1 offline_access").scopes == ("api1", "offline_access")
    no_offline = make_interactive_client(
        "web", allow_offline_access=False,
        allowed_scopes=("openid", "offline_access"), redirect_uris=(REDIRECT,))
    with pytest.raises(InvalidScope, match="may not request offline_access$"):
        validate(no_offline, scope="openid offline_access")


def test_offline_access_is_not_a_resource() -> None:
    validated = validate(scope="openid offline_access")
    assert {r.name for r in validated.resources.identity_resources} == {"openid"}
    assert validated.resources.api_scopes == ()


@pytest.mark.parametrize(("scope", "unknown"), [
    ("openid api.disabled", "api.disabled"),
    ("openid legacy", "legacy"),
    ("openid ghost", "ghost"),  # allowed for the client, defined nowhere
])
def test_unknown_or_disabled_scope_refused(scope: str, unknown: str) -> None:
    with pytest.raises(InvalidScope, match=f"unknown or disabled scope: {unknown}$"):
        validate(scope=scope)


@pytest.mark.parametrize("scope", ["profile", "profile api1", "roles", "email offline_access"])
def test_identity_scopes_need_openid(scope: str) -> None:
    with pytest.raises(InvalidScope, match="need the openid scope"):
        validate(scope=scope)


def test_custom_identity_resource_with_openid() -> None:
    validated = validate(scope="openid roles")
    assert {r.name for r in validated.resources.identity_resources} == {"openid", "roles"}


def test_repeated_scopes_are_granted_once() -> None:
    assert validate(scope="openid api1 openid").scopes == ("openid", "api1")


# PKCE per client --------------------------------------------------------------------------------

def test_pkce_required_by_default() -> None:
    with pytest.raises(InvalidRequest, match="code_challenge is required"):
        validate(code_challenge=None, code_challenge_method=None)


def test_public_client_needs_pkce_even_when_require_pkce_is_off() -> None:
    public = make_interactive_client("web", require_client_secret=False, client_secrets=(),
                                     require_pkce=False, redirect_uris=(REDIRECT,))
    with pytest.raises(InvalidRequest, match="code_challenge is required"):
        validate(public, code_challenge=None, code_challenge_method=None)


def test_confidential_client_without_require_pkce_may_skip_it() -> None:
    client = make_interactive_client("web", require_pkce=False, redirect_uris=(REDIRECT,),
                                     allowed_scopes=WEB.allowed_scopes)
    validated = validate(client, code_challenge=None, code_challenge_method=None)
    assert (validated.code_challenge, validated.code_challenge_method) == (None, None)


def test_plain_pkce_only_for_clients_that_allow_it() -> None:
    with pytest.raises(InvalidRequest, match="plain is not allowed"):
        validate(code_challenge=VERIFIER, code_challenge_method=None)
    client = make_interactive_client("web", allow_plain_text_pkce=True,
                                     allowed_scopes=WEB.allowed_scopes)
    validated = validate(client, code_challenge=VERIFIER, code_challenge_method=None)
    assert (validated.code_challenge, validated.code_challenge_method) == (VERIFIER, "plain")


def test_malformed_challenge_refused() -> None:
    with pytest.raises(InvalidRequest, match="43-128"):
        validate(code_challenge="short")


# prompt, max_age --------------------------------------------------------------------------------

@pytest.mark.parametrize(("prompt", "expected"), [
    ("none", {"none"}), ("login", {"login"}), ("consent", {"consent"}),
    ("select_account", {"select_account"}), ("login consent", {"login", "consent"}),
    ("consent login consent", {"login", "consent"}),
])
def test_prompt_values(prompt: str, expected: set[str]) -> None:
    assert validate(prompt=prompt).prompt == frozenset(expected)


@pytest.mark.parametrize("prompt", ["none login", "consent none", "Login", "create",
                                    "login,consent", "none none select_account"])
def test_prompt_refused(prompt: str) -> None:
    with pytest.raises(InvalidRequest, match="prompt"):
        validate(prompt=prompt)


@pytest.mark.parametrize(("max_age", "expected"), [("0", 0), ("1", 1), ("3600", 3600),
                                                   ("000120", 120), ("999999999", 999_999_999)])
def test_max_age_values(max_age: str, expected: int) -> None:
    assert validate(max_age=max_age).max_age == expected


@pytest.mark.parametrize("max_age", ["-1", "+1", "1.5", "1e3", " 1", "1 ", "abc", "１２",
                                     "²", "1000000000", "0x10"])
def test_max_age_refused(max_age: str) -> None:
    with pytest.raises(InvalidRequest, match="max_age"):
        validate(max_age=max_age)


def test_nonce_and_state_are_passed_through_untouched() -> None:
    validated = validate(nonce="n with spaces & symbols", state="a+b/c=")
    assert (validated.nonce, validated.state) == ("n with spaces & symbols", "a+b/c=")


# Order of checks: the first problem is the one reported ------------------------------------------

def test_response_type_is_checked_before_the_client_grant() -> None:
    client = make_client("web", redirect_uris=(REDIRECT,))
    with pytest.raises(UnsupportedResponseType):
        validate(client, response_type="token")


def test_scope_is_checked_before_pkce() -> None:
    with pytest.raises(InvalidScope):
        validate(scope=None, code_challenge=None, code_challenge_method=None)
