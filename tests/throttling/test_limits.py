"""Brute-force limits on passwords and client secrets (429 + Retry-After) that no outsider can
turn into a lockout of someone else.

Each failure counts for the account (or client id) and address together, and for the address
whatever the id. Codes and refresh tokens are not counted. Addresses come from X-Forwarded-For
here, the trusted proxy header these tests configure (one proxy: the last entry).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity import clock
from identity.endpoints.account import LOCKED_MESSAGE
from identity.models import FailureCount
from tests.helpers.calls import refresh
from tests.helpers.flow import exchange, get_code, login
from tests.helpers.pkce import Pkce

GRANT = {"grant_type": "client_credentials", "scope": "api1"}


@pytest.fixture
def limits(identity_config):
    def configure(pair=100, per_address=100, window=120, proxies=1):
        identity_config(AUTH_FAILURE_LIMIT=pair, AUTH_FAILURE_LIMIT_PER_ADDRESS=per_address,
                        AUTH_FAILURE_WINDOW=window, CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR",
                        TRUSTED_PROXIES=proxies)
    return configure


@pytest.fixture
def later(monkeypatch):
    """Move the server's clock forward by some seconds."""
    def move(seconds: int) -> None:
        moved = clock.now() + timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "now", lambda: moved)
    return move


def _login(client, username, password, address="10.0.0.1", path="/account/login"):
    return client.post(path, {"username": username, "password": password,
                              "next": "/account/grants"}, HTTP_X_FORWARDED_FOR=address)


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
    assert str(LOCKED_MESSAGE) in refused.content.decode()
    assert not _signed_in(client)
    # Alice elsewhere is not locked out by someone guessing at her name from 10.0.0.1.
    assert _login(client, "alice", "pw-alice-123", address="10.0.0.2").status_code == 302
    assert _signed_in(client)


def test_failures_from_many_addresses_never_lock_the_user_out_elsewhere(
        client, alice, limits) -> None:
    limits(pair=3)
    for n in range(60):  # 60 addresses, each up to its own limit: 180 failures for alice
        for _ in range(3):
            _login(client, "alice", "wrong", address=f"10.1.{n // 250}.{n % 250}")
    assert _login(client, "alice", "pw-alice-123", address="10.1.9.9").status_code == 302
    assert _signed_in(client)


@pytest.mark.parametrize("spelling", ["alice ", " alice", "ａlice", "\talice"])
def test_spellings_of_one_account_share_its_counter(client, alice, limits, spelling) -> None:
    # The sign-in form strips spaces and normalises Unicode (NFKC): each of these signs in as
    # alice, so each failure counts for alice.
    assert _login(client, spelling, "pw-alice-123").status_code == 302
    client.logout()
    limits(pair=2)
    _login(client, spelling, "wrong")
    _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw-alice-123").status_code == 429
    assert _login(client, spelling, "pw-alice-123").status_code == 429


def test_unknown_names_are_counted_whatever_their_case(client, alice, limits) -> None:
    limits(pair=2)
    _login(client, "BOB", "wrong")
    _login(client, "Bob", "wrong")
    assert _login(client, "bob", "anything").status_code == 429
    assert _login(client, "alice", "pw-alice-123").status_code == 302  # another account


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


def test_the_lock_ends_with_the_window(client, alice, limits, later) -> None:
    limits(pair=1, window=120)
    _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw-alice-123").status_code == 429
    later(121)
    assert _login(client, "alice", "pw-alice-123").status_code == 302


def test_a_limit_of_none_switches_a_counter_off(client, alice, limits) -> None:
    limits(pair=None, per_address=None)
    for _ in range(20):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw-alice-123").status_code == 302


def test_counters_are_kept_in_the_database_when_the_cache_is_per_process(
        client, alice, limits) -> None:
    # The default local-memory cache is not shared by gunicorn's workers: the database is.
    limits(pair=3)
    _login(client, "alice", "wrong")
    assert FailureCount.objects.filter(count=1).count() == 2  # the pair and the address


# The admin's sign-in page

def test_admin_sign_in_has_the_same_limits(client, admin_user, limits) -> None:
    limits(pair=10)
    for _ in range(10):
        assert _login(client, "admin", "wrong", path="/admin/login/").status_code == 200
    refused = _login(client, "admin", "password", path="/admin/login/")
    assert refused.status_code == 429 and refused["Retry-After"] == "120"
    assert "_auth_user_id" not in client.session
    assert _login(client, "admin", "password", address="10.0.0.2",
                  path="/admin/login/").status_code == 302


# Client authentication

def test_client_failures_from_many_addresses_never_lock_the_client_out_elsewhere(
        seeded, token_post, limits) -> None:
    seeded()
    limits(pair=3)
    for n in range(40):
        for _ in range(3):
            assert token_post(GRANT, auth=("service.client", "guess"),
                              x_forwarded_for=f"10.3.0.{n}").status_code == 401
    assert token_post(GRANT, auth=("service.client", "guess"),
                      x_forwarded_for="10.3.0.1").status_code == 429
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.3.1.1").status_code == 200


def test_a_changed_limit_holds_at_the_next_request(seeded, token_post, limits) -> None:
    seeded()
    limits(pair=5)
    for _ in range(3):
        assert token_post(GRANT, auth=("service.client", "guess"),
                          x_forwarded_for="10.5.0.1").status_code == 401
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.5.0.1").status_code == 200
    limits(pair=4)  # lowered: the next failure, the fourth, reaches it and locks the pair
    assert token_post(GRANT, auth=("service.client", "guess"),
                      x_forwarded_for="10.5.0.1").status_code == 401
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.5.0.1").status_code == 429
    limits(pair=None)  # switched off
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.5.0.1").status_code == 200


def test_one_address_spraying_client_ids_is_locked(seeded, token_post, limits) -> None:
    seeded()
    limits(per_address=3)
    for n in range(3):
        token_post(GRANT, auth=(f"guess-{n}", "guess"), x_forwarded_for="10.4.0.1")
    refused = token_post(GRANT, auth=("service.client", "secret"), x_forwarded_for="10.4.0.1")
    assert refused.status_code == 429 and refused["Retry-After"] == "120"
    assert refused.json()["error"] == "invalid_request"
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.4.0.2").status_code == 200


# Addresses behind a proxy

def test_the_address_is_the_one_the_trusted_proxy_appended(seeded, token_post, limits) -> None:
    seeded()
    limits(pair=2)
    # The caller writes its own X-Forwarded-For; the proxy appends the address it saw.
    for n in range(5):
        token_post(GRANT, auth=("service.client", "guess"),
                   x_forwarded_for=f"192.0.2.{n}, 10.5.0.1")
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="192.0.2.77, 10.5.0.1").status_code == 429
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.5.0.1, 10.5.0.2").status_code == 200


def test_two_trusted_proxies_take_the_second_entry_from_the_end(
        seeded, token_post, limits) -> None:
    seeded()
    limits(pair=2, proxies=2)
    for n in range(3):
        token_post(GRANT, auth=("service.client", "guess"),
                   x_forwarded_for=f"192.0.2.{n}, 10.6.0.1, 10.9.9.9")
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.6.0.1, 10.9.9.8").status_code == 429


# Codes and refresh tokens are not guessable and not counted

def test_failed_code_redemptions_are_invalid_grant_whatever_their_number(
        client, seeded, alice, limits) -> None:
    seeded()
    limits(pair=3, per_address=5)
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    for n in range(20):
        response = exchange(client, f"guessed-code-{n}", pkce)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert exchange(client, code, pkce).status_code == 200


def test_replayed_codes_stay_invalid_grant_and_fresh_codes_still_redeem(
        client, seeded, alice, limits) -> None:
    seeded()
    limits(pair=3)
    login(client)
    for _ in range(5):  # a client retrying each redemption several times
        pkce = Pkce.new()
        code = get_code(client, pkce)
        answers = [exchange(client, code, pkce).status_code for _ in range(8)]
        assert answers == [200] + [400] * 7


def test_failed_refreshes_are_invalid_grant_whatever_their_number(
        client, seeded, alice, limits) -> None:
    seeded()
    limits(pair=2)
    login(client)
    pkce = Pkce.new()
    tokens = exchange(client, get_code(client, pkce), pkce).json()
    for _ in range(10):
        assert refresh(client, "guessed-refresh-token").json()["error"] == "invalid_grant"
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_cleanup_deletes_expired_failure_counters(client, alice, limits, later) -> None:
    from io import StringIO

    from django.core.management import call_command

    limits(pair=3, window=120)
    _login(client, "alice", "wrong")
    _login(client, "bob", "wrong", address="10.7.0.1")
    later(60)
    _login(client, "carol", "wrong", address="10.7.0.2")  # still counting after the cleanup
    later(61)
    out = StringIO()
    call_command("cleanup_grants", stdout=out)
    assert "4 expired failure counters deleted" in out.getvalue()
    assert FailureCount.objects.count() == 2


def test_counters_are_read_only_while_a_lock_may_be_running(
        seeded, token_post, limits, later, django_assert_num_queries) -> None:
    seeded()
    limits(pair=2, window=120)
    assert token_post(GRANT, auth=("service.client", "secret")).status_code == 200  # warm up
    token_post(GRANT, auth=("service.client", "secret"))

    def queries_of_a_good_request() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert token_post(GRANT, auth=("service.client", "secret"),
                              x_forwarded_for="10.8.0.9").status_code == 200
        return len(queries.captured_queries)

    assert queries_of_a_good_request() == 1  # the generation; no lock ever started
    for _ in range(2):
        token_post(GRANT, auth=("service.client", "guess"), x_forwarded_for="10.8.0.1")
    # A lock started: every process now reads the counters, for every caller.
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.8.0.1").status_code == 429
    assert queries_of_a_good_request() == 2
    later(121)  # the lock's window has passed: no counter can still be over its limit
    assert queries_of_a_good_request() == 1
    assert token_post(GRANT, auth=("service.client", "secret"),
                      x_forwarded_for="10.8.0.1").status_code == 200


def test_counting_with_every_limit_off_writes_and_reads_nothing(
        client, alice, limits, django_assert_num_queries) -> None:
    from identity.http import throttling

    limits(pair=None, per_address=None)
    with django_assert_num_queries(0):
        throttling.record_failure("login", "user:1", "10.9.0.1")
        throttling.check_not_locked("login", "user:1", "10.9.0.1")
