"""Callers of the management API writing the same client at once with the ETag they read
(PostgreSQL only): exactly one write wins, every other is refused with 412, nothing is lost."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from django.test import Client as HttpClient

from tests.management_api.conftest import Api
from tests.races.conftest import postgresql_only  # noqa: F401 - a fixture
from tests.races.harness import race, repeat

WRITERS = 3
_round = itertools.count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("postgresql_only")
def test_concurrent_writes_with_one_etag_give_one_success(api: Api) -> None:
    token = api.token

    def one_round() -> str:
        n = next(_round)
        path = "/api/clients/service.client"
        tag = api.get(path)["ETag"]

        def act(index: int) -> int:
            writer = Api(HttpClient(), token)
            return int(writer.patch(path, {"access_token_lifetime": 1000 + 10 * n + index},
                                    **{"If-Match": tag}).status_code)

        statuses = race(WRITERS, lambda i: i, act)
        assert Counter(statuses) == {200: 1, 412: WRITERS - 1}, statuses
        winner = statuses.index(200)
        stored = api.get(path).json()["access_token_lifetime"]
        assert stored == 1000 + 10 * n + winner
        return "one winner"

    repeat(one_round, rounds=10)
