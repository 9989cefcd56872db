"""The whole interactive sign-in in chromium, against a relying party served by the test itself.

Authorize, log in, consent, back to the client with code and state, token exchange, ID token
verified with PyJWT's own JWKS client, userinfo, refresh, then RP-initiated logout: the
front-channel logout URI is requested by the browser and the browser returns to the client.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from urllib.parse import urlencode

import jwt
import pytest
from pytest_django.live_server_helper import LiveServer

from tests.browser.relying_party import allow, browser_page, relying_party, sign_in
from tests.factories import make_client, make_interactive_client
from tests.helpers.basic_auth import basic
from tests.helpers.flow import query_of as query
from tests.helpers.pkce import Pkce
from tests.helpers.tokens import at_hash

CLIENT_ID, CLIENT_SECRET = "interactive", "secret"
SCOPE = "openid profile email api1 offline_access"




def get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def post_token(base: str, form: dict[str, str]) -> dict:
    request = urllib.request.Request(
        base + "/connect/token", data=urlencode(form).encode(), method="POST",
        headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET),
                 "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert "no-store" in response.headers["Cache-Control"]
        return json.loads(response.read())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_user_signs_in_consents_gets_tokens_and_signs_out_of_the_client_in_chromium(
        live_server: LiveServer, seeded, alice) -> None:
    started = time.monotonic()
    with relying_party() as rp:
        callback, signed_out = f"{rp.base}/signin-oidc", f"{rp.base}/signed-out"
        seeded(make_client(), make_interactive_client(
            CLIENT_ID, require_consent=True, redirect_uris=(callback,),
            post_logout_redirect_uris=(signed_out,),
            front_channel_logout_uri=f"{rp.base}/signout-oidc"))
        pkce = Pkce.new()
        state, nonce, logout_state = (secrets.token_urlsafe(12) for _ in range(3))
        issuer = live_server.url

        # No ORM call inside the Playwright block: its event loop makes Django raise
        # SynchronousOnlyOperation. HTTP calls to the live server are fine.
        with browser_page() as page:
            page.goto(f"{issuer}/connect/authorize?" + urlencode({
                "client_id": CLIENT_ID, "redirect_uri": callback, "response_type": "code",
                "scope": SCOPE, "state": state, "nonce": nonce,
                "code_challenge": pkce.challenge, "code_challenge_method": "S256"}))
            sign_in(page, issuer)

            allow(page, issuer, SCOPE)

            page.wait_for_url(f"{callback}?**")
            back = query(page.url)
            assert back["state"] == state
            assert back["iss"] == issuer
            assert set(back) == {"code", "state", "iss"}

            # The client's back channel.
            doc = get_json(f"{issuer}/.well-known/openid-configuration")
            assert doc["issuer"] == issuer
            tokens = post_token(issuer, {
                "grant_type": "authorization_code", "code": back["code"],
                "redirect_uri": callback, "code_verifier": pkce.verifier})
            assert tokens["token_type"].lower() == "bearer"
            assert set(tokens["scope"].split()) == set(SCOPE.split())
            id_token = tokens["id_token"]
            key = jwt.PyJWKClient(doc["jwks_uri"]).get_signing_key_from_jwt(id_token)
            claims = jwt.decode(id_token, key.key,
                                algorithms=doc["id_token_signing_alg_values_supported"],
                                audience=CLIENT_ID, issuer=doc["issuer"])
            assert claims["nonce"] == nonce
            assert claims["sub"] and claims["sid"]
            assert claims["at_hash"] == at_hash(tokens["access_token"])

            info = get_json(doc["userinfo_endpoint"],
                            {"Authorization": "Bearer " + tokens["access_token"]})
            assert info["sub"] == claims["sub"]
            assert info["email"] == "alice@example.com"
            assert info["given_name"] == "Alice" and info["family_name"] == "Smith"

            refreshed = post_token(issuer, {"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]})
            assert refreshed["refresh_token"] != tokens["refresh_token"]
            assert refreshed["access_token"] != tokens["access_token"]
            again = get_json(doc["userinfo_endpoint"],
                             {"Authorization": "Bearer " + refreshed["access_token"]})
            assert again["sub"] == claims["sub"]

            # RP-initiated logout in the browser.
            assert rp.received("/signout-oidc") == []
            page.goto(doc["end_session_endpoint"] + "?" + urlencode({
                "id_token_hint": id_token, "post_logout_redirect_uri": signed_out,
                "state": logout_state}))
            page.wait_for_url(f"{signed_out}?**")
            assert query(page.url) == {"state": logout_state}
            deadline = time.monotonic() + 5
            while not rp.received("/signout-oidc") and time.monotonic() < deadline:
                time.sleep(0.05)
            front_channel = rp.received("/signout-oidc")

            # Signed out at the server: the next authorize asks for a login again.
            page.goto(f"{issuer}/connect/authorize?" + urlencode({
                "client_id": CLIENT_ID, "redirect_uri": callback, "response_type": "code",
                "scope": "openid", "state": "x", "code_challenge": pkce.challenge,
                "code_challenge_method": "S256"}))
            page.wait_for_url(f"{issuer}/account/login?**")

    assert len(front_channel) == 1, rp.requests
    assert query(front_channel[0]) == {"iss": issuer, "sid": claims["sid"]}
    assert len(rp.received("/signin-oidc")) == 1
    assert time.monotonic() - started < 45
