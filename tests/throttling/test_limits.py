"""Brute-force limits on passwords, client secrets, codes and refresh tokens (429 + Retry-After).

Each failure counts for the id and address together (low limit), for the id from anywhere, and
for the address whatever the id (higher limits). Addresses come from X-Forwarded-For here, the
trusted proxy header these tests configure.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from identity.endpoints.account import LOCKED_MESSAGE
from tests.authorization_code.flow import Pkce, exchange, get_code, login, refresh

GRANT = {"grant_type": "client_credentials", "scope": "api1"}


@pytest.fixture
def limits(identity_config):
    def configure(pair=100, per_id=100, per_address=100, window=120):
        identity_config(AUTH_FAILURE_LIMIT=pair, AUTH_FAILURE_LIMIT_PER_ID=per_id,
                        AUTH_FAILURE_LIMIT_PER_ADDRESS=per_address, AUTH_FAILURE_WINDOW=window,
                        CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    return configure


def _login(client, username, password, address="10.0.0.1"):
    return client.post("/account/login", {"username": username, "password": password,
                                          "next": "/account/grants"},
                       HTTP_X_FORWARDED_FOR=address)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# Sign-in

def test_failed_logins_lock_the_user_at_that_address_without_checking_the_password(
        client, alice, limits) -> None:
    limits(pair=3, window=120)
    for _ in range(3):
        assert _login(client, "alice", "wrong").status_code == 200
    refused = _login(client, "alice", "pw-alice-123")
    assert refused.status_code == 429 and refused["Retry-After"] == "120"
    assert LOCKED_MESSAGE in refused.content.decode()
    assert not _signed_in(client)
    # Alice elsewhere is not locked out by someone guessing at her name from 10.0.0.1.
    assert _login(client, "alice", "pw-alice-123", address="10.0.0.2").status_code == 302
    assert _signed_in(client)


def test_failed_logins_from_many_addresses_lock_the_user(client, alice, limits) -> None:
    limits(per_id=4)
    for n in range(4):
        assert _login(client, "alice", "wrong", address=f"10.1.0.{n}").status_code == 200
    assert _login(client, "alice", "pw-alice-123", address="10.1.0.99").status_code == 429
    assert not _signed_in(client)


def test_user_names_are_counted_whatever_their_case(client, alice, limits) -> None:
    limits(pair=2)
    _login(client, "ALICE", "wrong")
    _login(client, "Alice", "wrong")
    assert _login(client, "alice", "pw-alice-123").status_code == 429


def test_one_address_guessing_many_users_is_locked(client, alice, limits) -> None:
    limits(per_address=5)
    for n in range(5):
        _login(client, f"user{n}", "guess", address="10.2.0.1")
    assert _login(client, "alice", "pw-alice-123", address="10.2.0.1").status_code == 429
    assert _login(client, "alice", "pw-alice-123", address="10.2.0.2").status_code == 302


def test_successful_logins_are_not_counted(client, alice, limits) -> None:
    limits(pair=2)
    for _ in range(4):
        assert _login(client, "alice", "pw-alice-123").status_code == 302
        client.logout()


def test_the_lock_ends_with_the_window(client, alice, limits) -> None:
    limits(pair=1)
    _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw-alice-123").status_code == 429
    cache.clear()  # what the window's expiry does
    assert _login(client, "alice", "pw-alice-123").status_code == 302


def test_a_limit_of_none_switches_a_counter_off(client, alice, limits) -> None:
    limits(pair=None, per_id=None, per_address=None)
    for _ in range(20):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw-alice-123").status_code == 302


# Client authentication

def test_one_client_id_failing_from_many_addresses_is_locked(seeded, token_post, limits) -> None:
    seeded()
    limits(per_id=3)
    for n in range(3):
        response = token_post(GRANT, auth=("service.client", "guess"),
                              x_forwarded_for=f"10.3.0.{n}")
        assert response.status_code == 401
    refused = token_post(GRANT, auth=("service.client", "secret"), x_forwarded_for="10.3.0.50")
    assert refused.status_code == 429 and refused["Retry-After"] == "120"
    assert refused.json()["error"] == "invalid_request"


def test_one_address_spraying_client_ids_is_locked(seeded, token_post, limits) -> None:
    seeded()
    limits(per_address=3)
    for n in range(3):
        token_post(GRANT, auth=(f"guess-{n}", "guess"), x_forwarded_for="10.4.0.1")
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.4.0.1").status_code == 429
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.4.0.2").status_code == 200


# Code and refresh token redemption

def test_failed_code_redemptions_lock_the_client_at_that_address(
        client, seeded, alice, limits) -> None:
    seeded()
    limits(pair=3)
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    for n in range(3):
        response = exchange(client, f"guessed-code-{n}", pkce)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    refused = exchange(client, code, pkce)
    assert refused.status_code == 429 and refused["Retry-After"] == "120"
    # Refused before the code was looked at: it is still good once the window has passed.
    cache.clear()
    assert exchange(client, code, pkce).status_code == 200


def test_failed_refreshes_count_towards_the_same_limit(client, seeded, alice, limits) -> None:
    seeded()
    limits(pair=2)
    login(client)
    pkce = Pkce.new()
    tokens = exchange(client, get_code(client, pkce), pkce).json()
    for _ in range(2):
        assert refresh(client, "guessed-refresh-token").status_code == 400
    assert refresh(client, tokens["refresh_token"]).status_code == 429


def test_grant_failures_of_one_client_do_not_lock_another(
        client, seeded, alice, token_post, limits) -> None:
    seeded()
    limits(pair=1)
    login(client)
    exchange(client, "guessed-code", Pkce.new())
    assert token_post(GRANT, auth=("service.client", "secret")).status_code == 200
