"""Pushed authorization requests: POST /connect/par, then authorize with the request_uri.

Spec: RFC 9126 §2 (the push, client authentication, 201 response, errors), §4 (authorize
with client_id and request_uri, other parameters ignored), §5 (discovery), §7.3 (single use);
RFC 7523 §3 (private_key_jwt at the PAR endpoint); RFC 9449 §10 (dpop_jkt binds the code).
"""

from __future__ import annotations

import time
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from tests.factories import make_client, make_interactive_client
from tests.fapi.jose import (
    ISSUER,
    PAR_URL,
    TOKEN_URL,
    assertion_form,
    dpop_proof,
    ec_key,
    jwk_secret,
    rsa_key,
    thumbprint,
)
from tests.helpers.calls import INTERACTIVE_AUTH, TOKEN, post_form, post_token
from tests.helpers.flow import (
    REDIRECT,
    authorize,
    authorize_params,
    exchange,
    login,
    login_with_form,
    redirect_params,
)
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

PAR = "/connect/par"
URN = "urn:ietf:params:oauth:request_uri:"
DISCOVERY = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
PUSHED_SCOPE = "openid profile email api1 offline_access"  # authorize_params' scope
NATIVE_REDIRECT = "http://127.0.0.1/cb"
SERVICE_REDIRECT = "https://service.example.com/cb"
JWT_CLIENT = "jwt.client"
KEY = rsa_key("par-rsa")  # the private_key_jwt client's registered key
OTHER_KEY = rsa_key("par-rsa")  # same kid, never registered


# --- clients and builders ----------------------------------------------------------------------


def native_client(**overrides: Any) -> Any:
    """A public client: no secret, PKCE, a loopback redirect URI."""
    return make_interactive_client("native", require_client_secret=False, client_secrets=(),
                                   redirect_uris=(NATIVE_REDIRECT,), **overrides)


def usual_clients(*extra: Any) -> tuple[Any, ...]:
    """interactive (secret), native (public), service.client (client credentials only)."""
    return (make_interactive_client(), native_client(),
            make_client(redirect_uris=(SERVICE_REDIRECT,)), *extra)


@pytest.fixture
def clients(seeded) -> None:
    seeded(*usual_clients())


@pytest.fixture
def jwt_clients(seeded) -> None:
    seeded(*usual_clients(make_interactive_client(JWT_CLIENT, client_secrets=(jwk_secret(KEY),))))


@pytest.fixture
def browser(client, clients, alice):
    """A browser signed in as alice, the usual clients seeded."""
    login(client)
    return client


def push(client, data: dict[str, str], auth: tuple[str, str] | None = INTERACTIVE_AUTH,
         **extra: str) -> Any:
    """POST `data` to the PAR endpoint, with Basic credentials unless `auth` is None."""
    return post_form(client, PAR, data, auth=auth, **extra)


def pushed(client, pkce: Pkce | None = None, auth: tuple[str, str] | None = INTERACTIVE_AUTH,
           **overrides: str | None) -> str:
    """Push the interactive client's usual request (with `overrides`); return its request_uri."""
    response = push(client, authorize_params(pkce or Pkce.new(), **overrides), auth=auth)
    assert response.status_code == 201, response.content
    return response.json()["request_uri"]


def by_uri(client, request_uri: str, client_id: str = "interactive", **query: str) -> Any:
    """Authorize with the request_uri (and `query`, which the server must ignore)."""
    return authorize(client, client_id=client_id, request_uri=request_uri, **query)


def assert_code(response, redirect_uri: str = REDIRECT, state: str = "st-123") -> str:
    """Assert a redirect to `redirect_uri` with a code and `state`; return the code."""
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].split("?")[0] == redirect_uri, response["Location"]
    params = redirect_params(response)
    assert params.get("state") == state, params
    assert params.get("iss") == ISSUER
    assert "error" not in params and params.get("code"), params
    return params["code"]


def assert_error_redirect(response, error: str, state: str = "st-123") -> None:
    """Assert a redirect back to the client carrying `error` and no code."""
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].split("?")[0] == REDIRECT, response["Location"]
    params = redirect_params(response)
    assert params.get("error") == error, params
    assert params.get("state") == state
    assert "code" not in params


def assert_error_page(response, error: str) -> None:
    """Assert a 400 HTML error page naming `error`, sending the browser nowhere."""
    assert response.status_code == 400, (response.status_code, response.get("Location"))
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html")
    body = unescape(response.content.decode())
    assert 'id="error"' in body
    assert error in body, body[:2000]


def assert_push_error(response, status: int, error: str) -> None:
    """Assert a JSON error from the PAR endpoint and no request_uri."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error, body
    assert "request_uri" not in body


def move_clock(monkeypatch, seconds: int) -> None:
    """Move the server's clock (identity/clock.py reads time.time) forward."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def dpop_token_request(client, code: str, pkce: Pkce, proof: str | None = None) -> Any:
    """Redeem a code as the interactive client, with a DPoP header when `proof` is given."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": pkce.verifier}
    extra = {"HTTP_DPOP": proof} if proof is not None else {}
    return post_form(client, TOKEN, data, auth=INTERACTIVE_AUTH, **extra)


# --- the push: 201, request_uri, expires_in, no-store ------------------------------------------


def test_push_with_client_secret_basic_answers_201_with_a_request_uri(client, clients) -> None:
    response = push(client, authorize_params(Pkce.new()))
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["request_uri"].startswith(URN) and len(body["request_uri"]) > len(URN) + 16
    assert body["expires_in"] == 60


def test_each_push_gets_its_own_request_uri(client, clients) -> None:
    assert pushed(client) != pushed(client)


def test_push_with_client_secret_post(client, clients) -> None:
    data = {**authorize_params(Pkce.new()), "client_secret": "secret"}
    response = push(client, data, auth=None)
    assert response.status_code == 201, response.content
    assert response.json()["request_uri"].startswith(URN)


@pytest.mark.parametrize("aud", [PAR_URL, ISSUER])
def test_push_with_private_key_jwt(client, jwt_clients, aud) -> None:
    data = {**authorize_params(Pkce.new(), client_id=JWT_CLIENT),
            **assertion_form(JWT_CLIENT, KEY, aud=aud)}
    response = push(client, data, auth=None)
    assert response.status_code == 201, response.content
    assert response.json()["request_uri"].startswith(URN)
    assert response.json()["expires_in"] == 60
    assert "no-store" in response["Cache-Control"]


def test_public_client_pushes_with_client_id_only(client, clients) -> None:
    data = authorize_params(Pkce.new(), client_id="native", redirect_uri=NATIVE_REDIRECT)
    response = push(client, data, auth=None)
    assert response.status_code == 201, response.content
    assert response.json()["request_uri"].startswith(URN)
    assert response.json()["expires_in"] == 60


# --- authorize with the request_uri --------------------------------------------------------------


def test_signed_in_user_gets_a_code_with_the_pushed_state(browser) -> None:
    request_uri = pushed(browser, state="pushed-state")
    assert_code(by_uri(browser, request_uri), state="pushed-state")


def test_code_redeems_with_the_pushed_code_verifier(browser) -> None:
    pkce = Pkce.new()
    code = assert_code(by_uri(browser, pushed(browser, pkce)))
    response = exchange(browser, code, pkce)
    assert response.status_code == 200, response.content
    assert set(response.json()["scope"].split()) == set(PUSHED_SCOPE.split())


def test_code_does_not_redeem_with_another_verifier(browser) -> None:
    code = assert_code(by_uri(browser, pushed(browser, Pkce.new())))
    response = exchange(browser, code, Pkce.new())
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_public_client_flow_end_to_end(browser) -> None:
    pkce = Pkce.new()
    request_uri = pushed(browser, pkce, auth=None, client_id="native",
                         redirect_uri=NATIVE_REDIRECT)
    code = assert_code(by_uri(browser, request_uri, "native"), NATIVE_REDIRECT)
    response = post_token(browser, {"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": NATIVE_REDIRECT, "client_id": "native",
                                    "code_verifier": pkce.verifier}, auth=None)
    assert response.status_code == 200, response.content


def test_private_key_jwt_client_flow_end_to_end(client, jwt_clients, alice) -> None:
    login(client)
    pkce = Pkce.new()
    data = {**authorize_params(pkce, client_id=JWT_CLIENT),
            **assertion_form(JWT_CLIENT, KEY, aud=PAR_URL)}
    response = push(client, data, auth=None)
    assert response.status_code == 201, response.content
    code = assert_code(by_uri(client, response.json()["request_uri"], JWT_CLIENT))
    tokens = post_token(client, {"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": REDIRECT, "code_verifier": pkce.verifier,
                                 **assertion_form(JWT_CLIENT, KEY, aud=TOKEN_URL)}, auth=None)
    assert tokens.status_code == 200, tokens.content


def test_query_parameters_other_than_client_id_and_request_uri_are_ignored(browser) -> None:
    pkce = Pkce.new()
    request_uri = pushed(browser, pkce)
    response = by_uri(browser, request_uri, state="query-state", scope="openid",
                      nonce="query-nonce", response_mode="fragment",
                      code_challenge=Pkce.new().challenge, code_challenge_method="S256")
    assert urlsplit(response["Location"]).query  # the pushed (default) query mode, no fragment
    code = assert_code(response, state="st-123")
    tokens = exchange(browser, code, pkce)
    assert tokens.status_code == 200, tokens.content
    assert set(tokens.json()["scope"].split()) == set(PUSHED_SCOPE.split())
    claims = jwt.decode(tokens.json()["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == "n-456"


def test_a_different_redirect_uri_in_the_query_is_ignored(browser) -> None:
    response = by_uri(browser, pushed(browser), redirect_uri="https://evil.example.com/cb")
    assert_code(response)


# --- sign-in round trip -------------------------------------------------------------------------


def test_sign_in_round_trip_returns_to_the_same_request_uri(client, clients, alice) -> None:
    request_uri = pushed(client, state="round-trip")
    first = by_uri(client, request_uri)
    assert first.status_code == 302, first.content[:500]
    parts = urlsplit(first["Location"])
    assert parts.path == "/account/login", first["Location"]
    back = parse_qs(parts.query)["next"][0]
    query = parse_qs(urlsplit(back).query)
    assert query["request_uri"] == [request_uri] and query["client_id"] == ["interactive"]
    again = by_uri(client, request_uri)  # the browser revisits before signing in
    assert urlsplit(again["Location"]).path == "/account/login"
    signed_in = login_with_form(client, back)
    assert signed_in.status_code in (302, 303) and signed_in["Location"] == back
    assert_code(client.get(back), state="round-trip")


# --- single use, binding to the client, expiry -----------------------------------------------


def test_request_uri_used_again_after_its_code_is_an_error_page(browser) -> None:
    request_uri = pushed(browser)
    assert_code(by_uri(browser, request_uri))
    assert_error_page(by_uri(browser, request_uri), "invalid_request_uri")


def test_request_uri_used_again_after_the_code_was_redeemed_is_an_error_page(browser) -> None:
    pkce = Pkce.new()
    request_uri = pushed(browser, pkce)
    assert exchange(browser, assert_code(by_uri(browser, request_uri)), pkce).status_code == 200
    assert_error_page(by_uri(browser, request_uri), "invalid_request_uri")


def test_request_uri_with_another_clients_client_id_is_an_error_page(browser) -> None:
    request_uri = pushed(browser)  # pushed by interactive
    assert_error_page(by_uri(browser, request_uri, "native"), "invalid_request_uri")


def test_unknown_request_uri_is_an_error_page(browser) -> None:
    assert_error_page(by_uri(browser, URN + "never-pushed-0123456789"), "invalid_request_uri")


def test_request_uri_that_is_not_a_par_urn_is_not_supported(browser) -> None:
    assert_error_page(by_uri(browser, "https://elsewhere.example.com/req"),
                      "request_uri_not_supported")


def test_request_uri_still_works_before_it_expires(browser, monkeypatch) -> None:
    request_uri = pushed(browser)
    move_clock(monkeypatch, 30)
    assert_code(by_uri(browser, request_uri))


def test_expired_request_uri_is_an_error_page(browser, monkeypatch) -> None:
    request_uri = pushed(browser)
    move_clock(monkeypatch, 61)
    assert_error_page(by_uri(browser, request_uri), "invalid_request_uri")


def test_lifetime_setting_sets_expires_in_and_expiry(browser, identity_config,
                                                    monkeypatch) -> None:
    identity_config(PUSHED_AUTHORIZATION_LIFETIME=20)
    response = push(browser, authorize_params(Pkce.new()))
    assert response.status_code == 201 and response.json()["expires_in"] == 20
    move_clock(monkeypatch, 21)
    assert_error_page(by_uri(browser, response.json()["request_uri"]), "invalid_request_uri")


def test_client_pushed_authorization_lifetime_overrides_the_setting(client, seeded) -> None:
    seeded(make_interactive_client(pushed_authorization_lifetime=15))
    response = push(client, authorize_params(Pkce.new()))
    assert response.status_code == 201, response.content
    assert response.json()["expires_in"] == 15


# --- errors at push time -------------------------------------------------------------------


@pytest.mark.parametrize(("data", "auth"), [
    ({}, ("interactive", "wrong")),
    ({}, ("nobody", "secret")),
    ({}, None),  # a confidential client sending its client_id only
    ({"client_secret": "wrong"}, None),
], ids=["wrong-basic-secret", "unknown-client", "no-secret", "wrong-post-secret"])
def test_wrong_client_credentials_at_push_are_401_invalid_client(client, clients, data,
                                                                 auth) -> None:
    response = push(client, {**authorize_params(Pkce.new()), **data}, auth=auth)
    assert_push_error(response, 401, "invalid_client")


@pytest.mark.parametrize(("key", "claims"), [
    (OTHER_KEY, {}),
    (KEY, {"iss": "interactive"}),
    (KEY, {"exp": 1}),
], ids=["unregistered-key", "wrong-iss", "expired"])
def test_bad_client_assertion_at_push_is_401_invalid_client(client, jwt_clients, key,
                                                            claims) -> None:
    data = {**authorize_params(Pkce.new(), client_id=JWT_CLIENT),
            **assertion_form(JWT_CLIENT, key, aud=PAR_URL, **claims)}
    assert_push_error(push(client, data, auth=None), 401, "invalid_client")


@pytest.mark.parametrize(("overrides", "error"), [
    ({"redirect_uri": "https://unregistered.example.com/cb"}, "invalid_request"),
    ({"redirect_uri": None}, "invalid_request"),
    ({"scope": "openid nope"}, "invalid_scope"),
    ({"scope": "api2.read_only offline_access nope"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"request_uri": URN + "abc"}, "invalid_request"),
], ids=["unregistered-redirect", "missing-redirect", "unknown-scope", "unknown-scope-2",
        "response-type-token", "missing-response-type", "request-uri-in-push"])
def test_bad_pushed_request_is_400_json(client, clients, overrides, error) -> None:
    response = push(client, authorize_params(Pkce.new(), **overrides))
    assert_push_error(response, 400, error)


def test_client_not_allowed_the_code_flow_is_unauthorized_client(client, clients) -> None:
    data = authorize_params(Pkce.new(), client_id="service.client",
                            redirect_uri=SERVICE_REDIRECT, scope="api1")
    response = push(client, data, auth=("service.client", "secret"))
    assert_push_error(response, 400, "unauthorized_client")


def test_client_id_in_body_of_another_client_is_refused(client, clients) -> None:
    data = authorize_params(Pkce.new(), client_id="native", redirect_uri=NATIVE_REDIRECT)
    response = push(client, data, auth=INTERACTIVE_AUTH)
    assert response.status_code in (400, 401), response.content
    assert "request_uri" not in response.json()


def test_get_on_par_endpoint_is_405(client, clients) -> None:
    response = client.get(PAR + "?client_id=native")
    assert response.status_code == 405


# --- requiring PAR ---------------------------------------------------------------------------


def test_client_requiring_par_is_refused_without_it(client, seeded, alice) -> None:
    seeded(make_interactive_client(require_pushed_authorization=True))
    login(client)
    assert_error_redirect(authorize(client, **authorize_params(Pkce.new())), "invalid_request")


def test_client_requiring_par_gets_a_code_with_it(client, seeded, alice) -> None:
    seeded(make_interactive_client(require_pushed_authorization=True))
    login(client)
    assert_code(by_uri(client, pushed(client)))


def test_requiring_par_for_one_client_leaves_the_others_alone(client, seeded, alice) -> None:
    seeded(make_interactive_client(require_pushed_authorization=True), native_client())
    login(client)
    response = authorize(client, **authorize_params(Pkce.new(), client_id="native",
                                                    redirect_uri=NATIVE_REDIRECT))
    assert_code(response, NATIVE_REDIRECT)


def test_global_setting_refuses_every_client_without_par(browser, identity_config) -> None:
    identity_config(REQUIRE_PUSHED_AUTHORIZATION=True)
    assert_error_redirect(authorize(browser, **authorize_params(Pkce.new())), "invalid_request")
    response = authorize(browser, **authorize_params(Pkce.new(), client_id="native",
                                                     redirect_uri=NATIVE_REDIRECT))
    assert response.status_code == 302
    params = redirect_params(response)
    assert params.get("error") == "invalid_request" and "code" not in params


def test_global_setting_still_allows_par(browser, identity_config) -> None:
    identity_config(REQUIRE_PUSHED_AUTHORIZATION=True)
    assert_code(by_uri(browser, pushed(browser)))
    native_uri = pushed(browser, auth=None, client_id="native", redirect_uri=NATIVE_REDIRECT)
    assert_code(by_uri(browser, native_uri, "native"), NATIVE_REDIRECT)


# --- discovery -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DISCOVERY)
def test_discovery_lists_the_par_endpoint(client, clients, path) -> None:
    doc = client.get(path).json()
    assert doc["pushed_authorization_request_endpoint"] == "http://testserver/connect/par"
    assert doc["require_pushed_authorization_requests"] is False


@pytest.mark.parametrize("path", DISCOVERY)
def test_discovery_shows_the_global_requirement(client, clients, identity_config, path) -> None:
    identity_config(REQUIRE_PUSHED_AUTHORIZATION=True)
    assert client.get(path).json()["require_pushed_authorization_requests"] is True


# --- DPoP binding of the code ------------------------------------------------------------------


@pytest.fixture
def dpop_code(browser):
    """A code from a push carrying dpop_jkt: (the key, the code, its PKCE pair)."""
    key, pkce = ec_key(), Pkce.new()
    code = assert_code(by_uri(browser, pushed(browser, pkce, dpop_jkt=thumbprint(key))))
    return key, code, pkce


def test_code_bound_by_dpop_jkt_is_refused_without_a_proof(browser, dpop_code) -> None:
    _, code, pkce = dpop_code
    response = dpop_token_request(browser, code, pkce)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_dpop_proof"


def test_code_bound_by_dpop_jkt_is_refused_with_another_key(browser, dpop_code) -> None:
    _, code, pkce = dpop_code
    response = dpop_token_request(browser, code, pkce, dpop_proof(ec_key(), "POST", TOKEN_URL))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_dpop_proof"


def test_code_bound_by_dpop_jkt_redeems_with_a_proof_of_that_key(browser, dpop_code) -> None:
    key, code, pkce = dpop_code
    response = dpop_token_request(browser, code, pkce, dpop_proof(key, "POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"


def test_dpop_header_at_push_binds_the_code(browser) -> None:
    key, pkce = ec_key(), Pkce.new()
    response = push(browser, authorize_params(pkce), HTTP_DPOP=dpop_proof(key, "POST", PAR_URL))
    assert response.status_code == 201, response.content
    code = assert_code(by_uri(browser, response.json()["request_uri"]))
    refused = dpop_token_request(browser, code, pkce)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"


def test_push_with_dpop_jkt_of_another_key_than_its_proof_is_refused(client, clients) -> None:
    data = authorize_params(Pkce.new(), dpop_jkt=thumbprint(ec_key()))
    response = push(client, data, HTTP_DPOP=dpop_proof(ec_key(), "POST", PAR_URL))
    assert response.status_code == 400, response.content
    assert "request_uri" not in response.json()
