"""Parallel polls of one approved device code: exactly one gets tokens (PostgreSQL only).

Each thread has its own test client and database connection; a barrier starts them together.
Spec: RFC 8628 §3.5 (the device code is redeemed once), as RFC 6749 §4.1.2 for codes.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test import Client

import identity.http.session  # noqa: F401  (records sid and auth_time at sign-in)
from tests.device.support import decide, device_client, poll, started
from tests.helpers.flow import login
from tests.helpers.seeding import reference_clients
from tests.races.harness import race

THREADS = 8
ROUNDS = 5

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent connections and row-level locking")


def test_parallel_polls_after_approval_give_one_success(client, seeded, alice) -> None:
    seeded(*reference_clients(), device_client())
    login(client)
    assert client.get("/.well-known/openid-configuration/jwks").status_code == 200  # first key
    for _ in range(ROUNDS):
        body = started(client)
        assert decide(client, body["user_code"]).status_code == 200
        code = body["device_code"]
        responses = race(THREADS, lambda _: Client(),
                         lambda browser, code=code: poll(browser, code))
        outcomes = Counter((r.status_code, r.json().get("error")) for r in responses)
        assert outcomes == {(200, None): 1, (400, "invalid_grant"): THREADS - 1}, outcomes
