"""Signed request objects (RFC 9101) at the authorize endpoint and inside pushed authorization
requests (RFC 9126), built by joserfc (tests/fapi/jose.py).

The object is signed by one of the client's JWK keys; only its claims are used (outer parameters
other than client_id are ignored). A bad object is a 400 error page at authorize, a 400 JSON
invalid_request_object at PAR.
"""

from __future__ import annotations

import time
from html import unescape
from typing import Any

import pytest

from tests.factories import make_interactive_client, make_secret
from tests.fapi.jose import (
    ISSUER,
    PAR_URL,
    TOKEN_URL,
    assertion_form,
    ec_key,
    hmac_with_public_key,
    jwk_secret,
    rsa_key,
    sign,
    unsigned,
)
from tests.helpers.calls import INTERACTIVE_AUTH, TOKEN, post_form
from tests.helpers.flow import (
    REDIRECT,
    authorize,
    authorize_params,
    exchange,
    login,
    redirect_params,
)
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

CLIENT = "interactive"
PAR = "/connect/par"
URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
ALGS = ["RS256", "PS256", "ES256"]

RSA = rsa_key("ro-rsa")
EC = ec_key("ro-ec")
STRANGER = rsa_key("ro-stranger")
IMPOSTOR = rsa_key("ro-rsa")  # the client's kid, another key


# --- builders ------------------------------------------------------------------------------------


def ro_client(**overrides: Any):
    """The interactive client with a shared secret ("secret") and two public JWKs."""
    overrides.setdefault("client_secrets", (make_secret(), jwk_secret(RSA), jwk_secret(EC)))
    return make_interactive_client(CLIENT, **overrides)


def object_claims(pkce: Pkce, **overrides: Any) -> dict[str, Any]:
    """The claims of a good request object: the authorize parameters plus iss, aud, exp."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": CLIENT, "aud": ISSUER, "iat": now, "exp": now + 120, "jti": f"ro-{time.time_ns()}",
        "client_id": CLIENT, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid profile api1 offline_access", "state": "st-123", "nonce": "n-456",
        "code_challenge": pkce.challenge, "code_challenge_method": "S256"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def request_object(pkce: Pkce, key=RSA, alg: str = "PS256", **overrides: Any) -> str:
    return sign(object_claims(pkce, **overrides), key, alg)


@pytest.fixture
def browser(client, seeded, alice):
    """A browser signed in as alice, the request-object client seeded."""
    seeded(ro_client())
    login(client)
    return client


def assert_code(response, state: str = "st-123") -> str:
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].split("?")[0] == REDIRECT, response["Location"]
    params = redirect_params(response)
    assert "code" in params, params
    assert params.get("state") == state
    return params["code"]


def assert_error_page(response, error: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert not response.has_header("Location")
    assert error in unescape(response.content.decode())


def redeem_with_assertion(client, code: str, pkce: Pkce):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": pkce.verifier,
            **assertion_form(CLIENT, RSA, "PS256", aud=TOKEN_URL)}
    return post_form(client, TOKEN, data)


def push(client, data: dict[str, str], auth=INTERACTIVE_AUTH):
    return post_form(client, PAR, {"client_id": CLIENT, **data}, auth=auth)


# Bad objects: each a function of (pkce) -> JWS, built when the test runs.
BAD_OBJECTS = {
    "alg-none": lambda p: unsigned(object_claims(p), kid=RSA.kid),
    "hs256-with-public-key": lambda p: hmac_with_public_key(object_claims(p), RSA, kid=RSA.kid),
    "unknown-key": lambda p: request_object(p, STRANGER),
    "known-kid-other-key": lambda p: request_object(p, IMPOSTOR),
    "rs512": lambda p: request_object(p, RSA, "RS512"),
    "expired": lambda p: request_object(p, exp=int(time.time()) - 120,
                                        iat=int(time.time()) - 300),
    "no-exp": lambda p: request_object(p, exp=None),
    "nbf-in-the-future": lambda p: request_object(p, nbf=int(time.time()) + 600),
    "wrong-iss": lambda p: request_object(p, iss="someone-else"),
    "wrong-aud": lambda p: request_object(p, aud="https://other.example"),
    "aud-is-the-token-url": lambda p: request_object(p, aud=TOKEN_URL),
}


# --- authorize with `request` --------------------------------------------------------------------


@pytest.mark.parametrize(("key", "alg"), [(RSA, "RS256"), (RSA, "PS256"), (EC, "ES256")])
def test_a_signed_request_object_gets_a_code_that_redeems(browser, key, alg) -> None:
    pkce = Pkce.new()
    response = authorize(browser, client_id=CLIENT, request=request_object(pkce, key, alg))
    code = assert_code(response)
    redeemed = exchange(browser, code, pkce)  # the client's shared secret
    assert redeemed.status_code == 200, redeemed.content
    assert redeemed.json()["id_token"]


def test_the_code_redeems_with_private_key_jwt(browser) -> None:
    pkce = Pkce.new()
    code = assert_code(authorize(browser, client_id=CLIENT, request=request_object(pkce)))
    redeemed = redeem_with_assertion(browser, code, pkce)
    assert redeemed.status_code == 200, redeemed.content


def test_the_objects_parameters_win_over_outer_ones(browser) -> None:
    pkce = Pkce.new()
    obj = request_object(pkce, scope="openid api1", state="inner")
    outer = authorize_params(Pkce.new(), scope="openid profile email api1 api2.read_only "
                                               "offline_access", state="outer")
    code = assert_code(authorize(browser, **{**outer, "request": obj}), state="inner")
    redeemed = exchange(browser, code, pkce)  # the object's code_challenge, not the outer one
    assert redeemed.status_code == 200, redeemed.content
    body = redeemed.json()
    assert set(body["scope"].split()) == {"openid", "api1"}
    assert "refresh_token" not in body  # offline_access was only outside


@pytest.mark.parametrize("case", sorted(BAD_OBJECTS))
def test_a_bad_request_object_is_an_error_page(browser, case) -> None:
    obj = BAD_OBJECTS[case](Pkce.new())
    response = authorize(browser, client_id=CLIENT, request=obj)
    assert_error_page(response, "invalid_request_object")


def test_a_tampered_request_object_is_an_error_page(browser) -> None:
    pkce = Pkce.new()
    head, _, sig = request_object(pkce).split(".")
    forged = unsigned(object_claims(pkce, redirect_uri=REDIRECT + "/x")).split(".")[1]
    response = authorize(browser, client_id=CLIENT, request=f"{head}.{forged}.{sig}")
    assert_error_page(response, "invalid_request_object")


def test_a_client_id_claim_differing_from_the_outer_client_id_is_refused(
        client, seeded, alice) -> None:
    seeded(ro_client(), make_interactive_client("other"))
    login(client)
    obj = request_object(Pkce.new(), client_id="other")
    assert_error_page(authorize(client, client_id=CLIENT, request=obj), "invalid_request_object")


def test_an_object_signed_by_another_client_is_refused(client, seeded, alice) -> None:
    seeded(ro_client(), make_interactive_client(
        "other", client_secrets=(make_secret(), jwk_secret(STRANGER))))
    login(client)
    response = authorize(client, client_id=CLIENT, request=request_object(Pkce.new(), STRANGER))
    assert_error_page(response, "invalid_request_object")


def test_request_uri_elsewhere_is_not_supported(browser) -> None:
    params = authorize_params(Pkce.new(), request_uri="https://elsewhere.example/r")
    response = authorize(browser, **params)
    assert_error_page(response, "request_uri_not_supported")


# --- RequireRequestObject ------------------------------------------------------------------------


@pytest.fixture
def strict_browser(client, seeded, alice):
    seeded(ro_client(require_request_object=True))
    login(client)
    return client


def test_require_request_object_refuses_plain_parameters(strict_browser) -> None:
    response = authorize(strict_browser, **authorize_params(Pkce.new()))
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].split("?")[0] == REDIRECT
    params = redirect_params(response)
    assert params["error"] == "invalid_request" and "code" not in params


def test_require_request_object_accepts_a_signed_object(strict_browser) -> None:
    pkce = Pkce.new()
    code = assert_code(authorize(strict_browser, client_id=CLIENT, request=request_object(pkce)))
    assert exchange(strict_browser, code, pkce).status_code == 200


# --- inside a pushed authorization request -------------------------------------------------------


def _pushed(response) -> str:
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["request_uri"].startswith(URN_PREFIX)
    assert body["expires_in"] > 0
    return body["request_uri"]


def test_a_request_object_in_a_push_is_accepted_and_used(browser) -> None:
    pkce = Pkce.new()
    request_uri = _pushed(push(browser, {"request": request_object(pkce, scope="openid api1")}))
    code = assert_code(authorize(browser, client_id=CLIENT, request_uri=request_uri))
    redeemed = exchange(browser, code, pkce)
    assert redeemed.status_code == 200, redeemed.content
    assert set(redeemed.json()["scope"].split()) == {"openid", "api1"}


def test_a_push_authenticated_with_private_key_jwt(browser) -> None:
    pkce = Pkce.new()
    data = {"request": request_object(pkce), **assertion_form(CLIENT, RSA, "PS256", aud=PAR_URL)}
    request_uri = _pushed(push(browser, data, auth=None))
    code = assert_code(authorize(browser, client_id=CLIENT, request_uri=request_uri))
    assert redeem_with_assertion(browser, code, pkce).status_code == 200


@pytest.mark.parametrize("case", sorted(BAD_OBJECTS))
def test_a_bad_request_object_in_a_push_is_json_invalid_request_object(browser, case) -> None:
    response = push(browser, {"request": BAD_OBJECTS[case](Pkce.new())})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request_object"


def test_require_request_object_refuses_a_push_without_one(strict_browser) -> None:
    response = push(strict_browser, authorize_params(Pkce.new()))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


def test_require_request_object_is_satisfied_by_a_pushed_object(strict_browser) -> None:
    pkce = Pkce.new()
    request_uri = _pushed(push(strict_browser, {"request": request_object(pkce)}))
    code = assert_code(authorize(strict_browser, client_id=CLIENT, request_uri=request_uri))
    assert exchange(strict_browser, code, pkce).status_code == 200


# --- discovery -----------------------------------------------------------------------------------


def test_discovery_advertises_request_objects_by_value_only(client, seeded) -> None:
    seeded()
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["request_parameter_supported"] is True
    assert doc["request_uri_parameter_supported"] is False
    assert doc["request_object_signing_alg_values_supported"] == ALGS
