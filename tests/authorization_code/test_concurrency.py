"""Races on one code or one refresh token, through real database connections (PostgreSQL only).

Each thread has its own test client and database connection; a barrier starts them together.
Spec: RFC 6749 §4.1.2 (a code is used once), RFC 9700 §4.2.4 and §4.14.2 (a replayed code or a
reused rotated refresh token revokes what was issued from it). RACE_ROUNDS sets the number of
rounds of each race (20 by default; see tests/races/harness.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from tests.helpers.calls import refresh
from tests.helpers.flow import exchange, get_code, login
from tests.helpers.pkce import Pkce
from tests.races.harness import race, repeat

THREADS = 8

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent connections and row-level locking")


def _race(request: Callable[[Client], object]) -> list:
    """Send `request` from THREADS threads at once, each with its own test client."""
    return race(THREADS, lambda _: Client(), request)


def _outcomes(responses: list) -> Counter:
    return Counter((r.status_code, r.json().get("error")) for r in responses)


def _label(outcomes: Counter) -> str:
    return ", ".join(f"{n}x {status} {error or 'ok'}"
                     for (status, error), n in sorted(outcomes.items()))


def _setup(seeded, client) -> None:
    seeded()
    login(client)
    # Create the signing key before the races: first use writes it to the database.
    assert client.get("/.well-known/openid-configuration/jwks").status_code == 200


def _code_race(client) -> tuple[list, str, Pkce]:
    pkce = Pkce.new()
    code = get_code(client, pkce)
    return _race(lambda browser: exchange(browser, code, pkce)), code, pkce


def _refresh_race(client) -> tuple[list, str]:
    pkce = Pkce.new()
    response = exchange(client, get_code(client, pkce), pkce)
    assert response.status_code == 200, response.content
    token = response.json()["refresh_token"]
    return _race(lambda browser: refresh(browser, token)), token


@pytest.fixture
def slow_issuance(monkeypatch) -> None:
    """Make issuing tokens take 100 ms, as under load: the window between consuming a grant and
    storing the new refresh token becomes wide enough for every racing request to fall in it.
    Revocation must not depend on timing, so the outcome must not change."""
    import time

    from identity.grants import issuing as token

    original = token.sign

    def sign(*args, **kwargs):
        time.sleep(0.1)
        return original(*args, **kwargs)

    monkeypatch.setattr(token, "sign", sign)


def _code_round(client) -> str:
    responses, code, pkce = _code_race(client)
    outcomes = _outcomes(responses)
    # The conditional UPDATE lets one request consume the code; nothing after it can fail.
    assert outcomes == {(200, None): 1, (400, "invalid_grant"): THREADS - 1}, outcomes
    winner = next(r for r in responses if r.status_code == 200).json()
    # The replays happened: the tokens issued from the code must be revoked (RFC 9700 §4.2.4),
    # even when a replay deleted the code's family before the winner stored its token. (Checked
    # before any replay of our own, which would revoke the family again and hide the race.)
    revoked = refresh(client, winner["refresh_token"])
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    assert exchange(client, code, pkce).status_code == 400
    return _label(outcomes) + "; the winner's tokens revoked"


def _refresh_round(client) -> str:
    responses, token = _refresh_race(client)
    outcomes = _outcomes(responses)
    # One request consumes the token (conditional UPDATE); every other one reused it.
    assert outcomes == {(200, None): 1, (400, "invalid_grant"): THREADS - 1}, outcomes
    winner = next(r for r in responses if r.status_code == 200).json()
    # Reuse revokes the whole family, the winner's new token included (RFC 9700 §4.14.2): no
    # chain survives the race. (Checked before any reuse of our own, as above.)
    revoked = refresh(client, winner["refresh_token"])
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    assert refresh(client, token).status_code == 400
    return _label(outcomes) + "; the family revoked"


def test_parallel_redemptions_of_one_code_succeed_once_and_revoke_the_winner(
        client, seeded, alice) -> None:
    _setup(seeded, client)
    repeat(lambda: _code_round(client))


def test_parallel_redemptions_revoke_the_winner_even_when_issuing_is_slow(
        client, seeded, alice, slow_issuance) -> None:
    # Deterministic: every replay deletes the family before the winner stores its token (before
    # e93dcd4 the token then survived in every round; unslowed, within the first few rounds).
    _setup(seeded, client)
    repeat(lambda: _code_round(client))


def test_parallel_refreshes_of_one_token_succeed_once_and_revoke_the_family(
        client, seeded, alice) -> None:
    _setup(seeded, client)
    repeat(lambda: _refresh_round(client))


def test_parallel_refreshes_revoke_the_family_even_when_issuing_is_slow(
        client, seeded, alice, slow_issuance) -> None:
    # Deterministic: every reuse deletes the family before the winner stores its successor
    # (before e93dcd4 it then survived in every round; unslowed, within the first few rounds).
    _setup(seeded, client)
    repeat(lambda: _refresh_round(client))
