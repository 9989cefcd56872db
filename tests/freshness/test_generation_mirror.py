"""On a shared cache (Redis) a token request reads everything it needs in one round trip and
never the database, and the configuration generation mirrored in the cache still moves with
every committed change, whatever order readers and writers come in."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from identity import freshness
from identity.stores.caching import invalidate_client, stamp_keys_of_client
from identity.stores.orm_generation import read_generation
from tests.freshness.conftest import REDIS, record_backend_reads
from tests.helpers.basic_auth import basic

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_redis(settings: Any, redis_prefix: str) -> str:
    """Django's cache on Redis, under a key prefix of this test, removed afterwards."""
    settings.CACHES = {"default": {"BACKEND": "identity.redis_cache.RedisCache",
                                   "LOCATION": REDIS, "KEY_PREFIX": redis_prefix}}
    assert freshness.cache_is_shared()
    return redis_prefix


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every command sent to Redis from now on."""
    sent: list[tuple[Any, ...]] = []
    original = redis.Redis.execute_command

    def counted(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(args)
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    record_backend_reads(monkeypatch, sent)
    return sent


def client_credentials(client: Any, **extra: Any) -> Any:
    return client.post("/connect/token", "grant_type=client_credentials&scope=api1",
                       content_type="application/x-www-form-urlencoded",
                       HTTP_AUTHORIZATION=basic("service.client", "secret"), **extra)


def in_a_request() -> None:
    """Start a new request for identity.freshness (not through the signals: Django's own
    receivers of those would close the test's database connection)."""
    freshness._finished()
    freshness._started()


def test_a_warm_token_request_makes_no_round_trip_and_no_query(client, seeded, on_redis,
                                                                round_trips) -> None:
    seeded()
    # The first request reads everything and caches the client; the second reads back the
    # stamp and generation the first wrote (a write drops the writer's own copy).
    assert client_credentials(client).status_code == 200
    round_trips.clear()
    assert client_credentials(client).status_code == 200
    assert [args[0] for args in round_trips] == ["MGET"]
    round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        answer = client_credentials(client)

    assert answer.status_code == 200, answer.content
    assert round_trips == []  # answered from the copies Redis tracks for this connection
    assert queries.captured_queries == []


def test_each_caller_address_is_read_once_then_answered_from_the_copies(client, seeded, on_redis,
                                                                         round_trips) -> None:
    """The failure counters are per client and address: a new address costs one read, and only
    the first time (within LOCAL_COPY_SECONDS) this worker sees it."""
    seeded()
    for _ in range(2):  # warm: the client cached, its stamp and the generation read back
        assert client_credentials(client).status_code == 200
    round_trips.clear()
    addresses = ["192.0.2.1", "192.0.2.2", "2001:db8::3"]

    for _ in range(4):
        for address in addresses:
            answer = client_credentials(client, REMOTE_ADDR=address)
            assert answer.status_code == 200, answer.content

    assert [args[0] for args in round_trips] == ["MGET"] * len(addresses)


def test_a_committed_change_gives_the_mirror_a_value_never_seen(on_redis, db,
                                                                django_capture_on_commit_callbacks
                                                                ) -> None:
    in_a_request()
    before = freshness.current_generation()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        freshness.configuration_changed()
    in_a_request()
    after = freshness.current_generation()

    assert after != before
    assert caches["default"].get(freshness.GENERATION_MIRROR_KEY) == after


def test_a_value_read_before_a_change_never_overwrites_the_changes(
        on_redis, db, django_capture_on_commit_callbacks) -> None:
    caches["default"].delete(freshness.GENERATION_MIRROR_KEY)
    stale, _ = read_generation()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        freshness.configuration_changed()
    changed = caches["default"].get(freshness.GENERATION_MIRROR_KEY)

    freshness._add_mirror(stale)  # a reader that read the database before the commit

    assert changed is not None and changed != stale
    assert caches["default"].get(freshness.GENERATION_MIRROR_KEY) == changed


def test_a_missing_mirror_is_read_from_the_database_and_added(on_redis, db) -> None:
    caches["default"].delete(freshness.GENERATION_MIRROR_KEY)
    in_a_request()

    with CaptureQueriesContext(connection) as queries:
        value = freshness.current_generation()

    assert len(queries.captured_queries) == 1
    assert caches["default"].get(freshness.GENERATION_MIRROR_KEY) == value


def test_a_request_that_invalidates_a_client_reads_its_stamp_again(client, seeded,
                                                                     on_redis) -> None:
    seeded()
    assert client_credentials(client).status_code == 200
    in_a_request()
    stamp = stamp_keys_of_client("service.client")[0]
    freshness.prefetch([stamp])
    assert freshness.cache_get(stamp) is not None  # got by the prefetch

    invalidate_client("service.client")  # a change made by this very request

    assert freshness.cache_get(stamp) is None  # asked again, and gone


def test_a_failed_prefetch_sends_nothing_more_to_the_cache_in_that_request(
        settings, db) -> None:
    settings.CACHES = {"default": {"BACKEND": "identity.redis_cache.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    in_a_request()
    freshness.prefetch(["identity:probe"])

    with pytest.raises(freshness.CacheUnavailable):
        freshness.cache_get("identity:probe")
    assert isinstance(freshness.current_generation(), int)  # from the database
