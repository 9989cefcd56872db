"""The happy path of the code flow, end to end through the test client."""

from __future__ import annotations

import jwt
import pytest

from tests.helpers.calls import refresh
from tests.helpers.flow import authorize, authorize_params, exchange, get_code, login
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db


def test_code_flow_issues_tokens_id_token_userinfo_and_refresh(client, seeded, alice) -> None:
    seeded()
    pkce = Pkce.new()
    response = authorize(client, **authorize_params(pkce))
    assert response.status_code == 302 and response["Location"].startswith("/account/login?")
    login(client)
    code = get_code(client, pkce)
    response = exchange(client, code, pkce)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"access_token", "id_token", "refresh_token", "expires_in", "scope"} <= set(body)
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["aud"] == "interactive" and id_claims["nonce"] == "n-456"
    assert id_claims["sub"] == str(alice.pk)
    info = client.get("/connect/userinfo", HTTP_AUTHORIZATION="Bearer " + body["access_token"])
    assert info.status_code == 200, info.content
    assert info.json()["email"] == "alice@example.com"
    again = refresh(client, body["refresh_token"])
    assert again.status_code == 200, again.content
    assert again.json()["refresh_token"] != body["refresh_token"]
    assert refresh(client, body["refresh_token"]).status_code == 400
    assert refresh(client, again.json()["refresh_token"]).status_code == 400  # family revoked
    assert exchange(client, code, pkce).status_code == 400
