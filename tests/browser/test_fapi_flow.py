"""A FAPI 2.0-style client, from the push to userinfo, with the sign-in driven in chromium.

The client is confidential with no shared secret, only a public JWK (private_key_jwt, RFC 7523
§2.2), must push its request (RFC 9126) and must use DPoP (RFC 9449). The test is the client:
it pushes with a signed assertion, PKCE S256 and dpop_jkt; the browser authorizes with the
request_uri, signs in and consents, and lands on a relying party the test serves on loopback;
the code is redeemed with a new assertion and a DPoP proof; the ID token and the access token
are verified with joserfc against the server's JWKS; userinfo answers to the DPoP scheme (proof
with ath) and refuses the same token as Bearer; the used request_uri is an error page.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from pytest_django.live_server_helper import LiveServer

from tests.browser.relying_party import allow, browser_page, relying_party, sign_in
from tests.factories import make_interactive_client
from tests.fapi.jose import (
    ASSERTION_TYPE,
    assertion,
    dpop_proof,
    ec_key,
    jwk_secret,
    rsa_key,
    thumbprint,
)
from tests.helpers.flow import query_of as query
from tests.helpers.pkce import Pkce
from tests.helpers.tokens import at_hash

CLIENT_ID = "fapi.client"
SCOPE = "openid profile email api1"
URN = "urn:ietf:params:oauth:request_uri:"
SIGNING_KEY = rsa_key("fapi-client-rs")  # the client's registered key (private_key_jwt)
DPOP_KEY = ec_key()  # the client's DPoP key, never registered




def call(url: str, form: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    """GET `url` (or POST `form` to it); return status, headers and the JSON body (or None),
    error statuses included."""
    data = urlencode(form).encode() if form is not None else None
    head = dict(headers or {})
    if data is not None:
        head["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=head,
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, got, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got, raw = error.code, error.headers, error.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return status, got, body


def client_auth(audience: str) -> dict[str, str]:
    """private_key_jwt form members: a fresh assertion (new jti) signed by the client's key."""
    return {"client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(CLIENT_ID, SIGNING_KEY, "RS256", aud=audience)}


def verified(token: str, jwks: KeySet, algorithms: list[str], **expected: Any) -> dict[str, Any]:
    """The claims of `token` after joserfc checked its signature against the server JWKS and
    the `expected` claim values (plus exp/iat)."""
    decoded = jwt.decode(token, jwks, algorithms=algorithms)
    jwt.JWTClaimsRegistry(
        exp={"essential": True}, iat={"essential": True},
        **{name: {"essential": True, "value": value} for name, value in expected.items()},
    ).validate(decoded.claims)
    return dict(decoded.claims)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fapi_client_pushes_signs_in_in_chromium_and_calls_userinfo_with_dpop(
        live_server: LiveServer, seeded, alice) -> None:
    with relying_party() as rp:
        callback = f"{rp.base}/signin-oidc"
        seeded(make_interactive_client(
            CLIENT_ID, client_secrets=(jwk_secret(SIGNING_KEY),), require_consent=True,
            require_pushed_authorization=True, require_dpop=True, redirect_uris=(callback,),
            allowed_scopes=tuple(SCOPE.split())))
        pkce = Pkce.new()
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        issuer = live_server.url
        par_url, token_url = f"{issuer}/connect/par", f"{issuer}/connect/token"
        userinfo_url = f"{issuer}/connect/userinfo"

        # No ORM call from here on: Playwright's event loop makes Django raise
        # SynchronousOnlyOperation. HTTP calls to the live server are fine.
        status, _, doc = call(f"{issuer}/.well-known/openid-configuration")
        assert status == 200 and doc["issuer"] == issuer
        assert doc["pushed_authorization_request_endpoint"] == par_url
        assert doc["token_endpoint"] == token_url
        assert doc["userinfo_endpoint"] == userinfo_url
        assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
        _, _, jwks_doc = call(f"{issuer}/.well-known/openid-configuration/jwks")
        jwks = KeySet.import_key_set(jwks_doc)

        # The push, authenticated by a private_key_jwt assertion whose aud is the issuer.
        status, headers, pushed = call(par_url, {
            "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": callback,
            "scope": SCOPE, "state": state, "nonce": nonce,
            "code_challenge": pkce.challenge, "code_challenge_method": "S256",
            "dpop_jkt": thumbprint(DPOP_KEY), **client_auth(issuer)})
        assert status == 201, pushed
        assert "no-store" in headers["Cache-Control"]
        request_uri = pushed["request_uri"]
        assert request_uri.startswith(URN) and pushed["expires_in"] > 0
        authorize_url = f"{issuer}/connect/authorize?" + urlencode(
            {"client_id": CLIENT_ID, "request_uri": request_uri})

        with browser_page() as page:
            page.goto(authorize_url)
            sign_in(page, issuer)

            allow(page, issuer, SCOPE)

            page.wait_for_url(f"{callback}?**")
            back = query(page.url)
            assert set(back) == {"code", "state", "iss"}, back
            assert back["state"] == state and back["iss"] == issuer

            # Redeem the code: a new assertion, and a DPoP proof by the key of dpop_jkt.
            status, headers, tokens = call(token_url, {
                "grant_type": "authorization_code", "code": back["code"],
                "redirect_uri": callback, "code_verifier": pkce.verifier,
                **client_auth(issuer)},
                {"DPoP": dpop_proof(DPOP_KEY, "POST", token_url)})
            assert status == 200, tokens
            assert "no-store" in headers["Cache-Control"]
            assert tokens["token_type"] == "DPoP"
            assert set(tokens["scope"].split()) == set(SCOPE.split())

            # The request_uri is spent once its code was issued.
            again = page.goto(authorize_url)
            assert again is not None and again.status == 400
            assert page.url.startswith(f"{issuer}/connect/authorize?")
            html = unescape(page.content())
            assert page.locator("#error").count() == 1
            assert "invalid_request_uri" in html

        algorithms = doc["id_token_signing_alg_values_supported"]
        id_claims = verified(tokens["id_token"], jwks, algorithms,
                             iss=issuer, aud=CLIENT_ID, nonce=nonce)
        assert id_claims["sub"] and id_claims["at_hash"] == at_hash(tokens["access_token"])
        access = verified(tokens["access_token"], jwks, algorithms,
                          iss=issuer, client_id=CLIENT_ID, sub=id_claims["sub"])
        assert access["cnf"] == {"jkt": thumbprint(DPOP_KEY)}
        assert set(access["scope"] if isinstance(access["scope"], list)
                   else access["scope"].split()) == set(SCOPE.split())

        # Userinfo with the DPoP scheme and a proof carrying ath.
        status, _, info = call(userinfo_url, headers={
            "Authorization": "DPoP " + tokens["access_token"],
            "DPoP": dpop_proof(DPOP_KEY, "GET", userinfo_url,
                               access_token=tokens["access_token"])})
        assert status == 200, info
        assert info["sub"] == id_claims["sub"]
        assert info["email"] == "alice@example.com"

        # The same token as a Bearer token is refused: it is bound to the DPoP key.
        status, headers, _ = call(userinfo_url,
                                  headers={"Authorization": "Bearer " + tokens["access_token"]})
        assert status == 401
        challenge = headers["WWW-Authenticate"]
        assert challenge.startswith("DPoP") and 'error="invalid_token"' in challenge, challenge

    assert len(rp.received("/signin-oidc")) == 1, rp.requests
