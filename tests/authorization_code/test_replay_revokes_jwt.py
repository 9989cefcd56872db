"""A replayed code or a revoked family also revokes the JWT access tokens issued in it."""

from __future__ import annotations

import pytest

from tests.helpers.calls import refresh, userinfo
from tests.helpers.flow import exchange, get_code, login
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db


def _userinfo(client, token: str) -> int:
    return userinfo(client, token).status_code


def test_code_replay_puts_the_first_access_token_on_the_deny_list(client, seeded, alice) -> None:
    seeded()
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    first = exchange(client, code, pkce).json()
    assert _userinfo(client, first["access_token"]) == 200
    assert exchange(client, code, pkce).status_code == 400  # the replay
    assert _userinfo(client, first["access_token"]) == 401
    assert refresh(client, first["refresh_token"]).status_code == 400


def test_refresh_reuse_revokes_the_access_tokens_of_the_family(client, seeded, alice) -> None:
    seeded()
    login(client)
    pkce = Pkce.new()
    first = exchange(client, get_code(client, pkce), pkce).json()
    second = refresh(client, first["refresh_token"]).json()
    assert _userinfo(client, second["access_token"]) == 200
    assert refresh(client, first["refresh_token"]).status_code == 400  # reuse
    assert _userinfo(client, second["access_token"]) == 401
    assert _userinfo(client, first["access_token"]) == 401


def test_revoking_the_application_revokes_its_access_tokens(client, seeded, alice) -> None:
    seeded()
    login(client)
    pkce = Pkce.new()
    tokens = exchange(client, get_code(client, pkce), pkce).json()
    client.post("/account/grants", {"client_id": "interactive"})
    assert _userinfo(client, tokens["access_token"]) == 401
