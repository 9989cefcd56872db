"""The Redis backend's reads answered from copies Redis tracks (client-side caching): no round trip
while nothing changed, and never a value older than a change, whoever made it, once the write
that made it has returned (on one host, where the invalidation Redis sent before answering the
write is already in the reader's socket; across hosts its delivery is not ordered with the
writer's answer, see tests/scale_out); an expiry seen within LOCAL_COPY_SECONDS; a lost
connection loses the copies; with `local_copy_seconds` 0, no copies and no tracking."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from identity import redis_cache
from identity.redis_cache import RedisCache
from tests.freshness.conftest import REDIS, record_backend_reads


@pytest.fixture
def cache(redis_prefix: str) -> RedisCache:
    return RedisCache(REDIS, {"KEY_PREFIX": redis_prefix})


@pytest.fixture
def other_process(redis_prefix: str) -> RedisCache:
    """Another backend on the same keys: its own client, pool and connections, as a second
    worker or node has (its writes are made from another thread, which has its own copies)."""
    return RedisCache(REDIS, {"KEY_PREFIX": redis_prefix})


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every read sent to Redis from now on."""
    sent: list[tuple[Any, ...]] = []
    record_backend_reads(monkeypatch, sent)
    return sent


def elsewhere(action: Any) -> None:
    thread = threading.Thread(target=action)
    thread.start()
    thread.join()


def test_a_value_read_is_answered_locally_until_another_process_changes_it(
        cache, other_process, reads) -> None:
    cache.set_many({"stamp": "a", "count": 2}, 60)
    assert cache.get_many(["stamp", "count", "absent"]) == {"stamp": "a", "count": 2}
    assert cache.get_many(["stamp", "count", "absent"]) == {"stamp": "a", "count": 2}
    assert cache.get("count") == 2
    assert [command[0] for command in reads] == ["MGET"]

    elsewhere(lambda: other_process.set("stamp", "b", 60))
    # No wait: the other's write returned only once Redis had sent its invalidation.
    assert cache.get_many(["stamp", "count", "absent"]) == {"stamp": "b", "count": 2}

    elsewhere(lambda: other_process.set("absent", "now here", 60))  # an absence is tracked too
    assert cache.get("absent") == "now here"

    elsewhere(lambda: other_process.delete_many(["stamp", "count"]))
    assert cache.get_many(["stamp", "count"]) == {}
    assert len(reads) == 4


def test_changes_by_any_client_reach_the_copies(cache, redis_prefix) -> None:
    cache.set("k", "old", 60)
    assert cache.get("k") == "old"
    raw = redis.Redis.from_url(REDIS)
    raw.set(f"{redis_prefix}:1:k", b"1")  # Django's integers are stored as digits
    raw.ping()  # as the backend's own writes do: the invalidation has been sent
    assert cache.get("k") == 1

    raw.incr(f"{redis_prefix}:1:k")
    raw.ping()
    assert cache.get("k") == 2


def test_this_threads_own_writes_are_read_back_at_once(cache, reads) -> None:
    cache.set("k", "v", 60)
    assert cache.get("k") == "v"
    for change, expected in ((lambda: cache.set("k", "w", 60), "w"),
                             (lambda: cache.delete("k"), None),
                             (lambda: cache.add("k", 5, 60), 5),
                             (lambda: cache.incr("k"), 6),
                             (lambda: cache.touch("k", 60), 6),
                             (lambda: cache.set_many({"k": 7}, 60), 7),
                             (lambda: cache.delete_many(["k"]), None)):
        change()
        assert cache.get("k") == expected
    assert len(reads) == 8  # each change dropped the copy: read again


def test_an_expiry_is_seen_within_the_local_copys_lifetime(cache, reads, monkeypatch) -> None:
    monkeypatch.setattr(redis_cache, "LOCAL_COPY_SECONDS", 0.2)
    cache.set("k", "v", 60)
    assert cache.get("k") == "v"
    assert cache.get("k") == "v"
    assert len(reads) == 1
    time.sleep(0.25)
    assert cache.get("k") == "v"
    assert len(reads) == 2  # the copy was too old: read again


def test_large_values_are_not_kept(cache, reads) -> None:
    large = "x" * redis_cache.LOCAL_COPY_MAX_BYTES
    cache.set_many({"large": large, "small": "y"}, 60)
    assert cache.get_many(["large", "small"]) == {"large": large, "small": "y"}
    assert cache.get("small") == "y"
    assert cache.get("large") == large
    assert [command[0] for command in reads] == ["MGET", "GET"]


def test_a_lost_connection_loses_its_copies(cache, redis_prefix, reads) -> None:
    cache.set("k", "old", 60)
    assert cache.get("k") == "old"
    client: Any = cache._cache
    connection = client._kept.connections[0].connection
    host, port = connection._sock.getsockname()[:2]
    raw = redis.Redis.from_url(REDIS)
    assert raw.client_kill(f"{host}:{port}")
    # Changed while nobody could tell this connection: the copy must not be answered.
    raw.set(f"{redis_prefix}:1:k", b"2")
    assert cache.get("k") == 2
    assert client._kept.connections[0].connection is not connection
    assert len(reads) == 2


def test_many_readers_each_see_a_change(cache, redis_prefix) -> None:
    """Threads of one process and forked processes, each with its own tracked connection."""
    cache.set("k", "old", 60)
    assert cache.get("k") == "old"
    seen: list[Any] = []
    start, changed = threading.Barrier(5), threading.Event()

    def reader() -> None:
        assert cache.get("k") == "old"
        start.wait()
        changed.wait()
        seen.append(cache.get("k"))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    elsewhere(lambda: RedisCache(REDIS, {"KEY_PREFIX": redis_prefix}).set("k", "new", 60))
    changed.set()
    for thread in threads:
        thread.join()
    assert seen == ["new"] * 4 and cache.get("k") == "new"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_keeps_nothing_of_its_parents(cache, redis_prefix) -> None:
    cache.set("k", "parent", 60)
    assert cache.get("k") == "parent"
    read, write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reads, waits for the parent's change, reads again
        try:
            first = cache.get("k")
            os.write(write, b"r")
            os.read(go_read, 1)
            second = cache.get("k")
            os.write(write, b"1" if (first, second) == ("parent", "changed") else b"0")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"r"
    cache.set("k", "changed", 60)
    os.write(go_write, b"g")
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"


@pytest.fixture
def strict(redis_prefix: str) -> RedisCache:
    return RedisCache(REDIS, {"KEY_PREFIX": redis_prefix, "OPTIONS": {"local_copy_seconds": 0}})


def _tracking_flags(cache: RedisCache) -> str:
    """The flags Redis lists for the connection this thread reads on (`t`: tracking)."""
    client: Any = cache._cache
    host, port = client._kept.connections[0].connection._sock.getsockname()[:2]
    found = [c for c in redis.Redis.from_url(REDIS).client_list()
             if c["addr"] == f"{host}:{port}"]
    assert len(found) == 1, found
    return str(found[0]["flags"])


def test_an_invalidation_still_on_its_way_is_a_window_with_copies_and_none_without(
        cache, strict, redis_prefix) -> None:
    """Another node's write has returned, but Redis's invalidation has not reached this one (as
    when the network delays it): the copy is answered until it is LOCAL_COPY_SECONDS old; a
    cache without copies answers the change at once."""
    cache.set("stamp", 1, 60)
    assert cache.get("stamp") == strict.get("stamp") == 1
    assert "t" in _tracking_flags(cache) and "t" not in _tracking_flags(strict)
    tracked: Any = cache._cache
    tracked._kept.connections[0].connection._parser.set_invalidation_push_handler(
        lambda message: None)  # received, never applied: as if still on its way
    raw = redis.Redis.from_url(REDIS)
    raw.set(f"{redis_prefix}:1:stamp", b"2")  # Django's integers are stored as digits
    raw.ping()
    assert cache.get("stamp") == 1  # the window
    assert strict.get("stamp") == 2


def test_without_copies_every_read_asks_redis(strict, reads) -> None:
    strict.set_many({"stamp": "a", "count": 2}, 60)
    for _ in range(3):
        assert strict.get_many(["stamp", "count", "absent"]) == {"stamp": "a", "count": 2}
        assert strict.get("count") == 2
    assert [command[0] for command in reads] == ["MGET", "GET"] * 3
    client: Any = strict._cache
    assert client._kept.connections[0].copies == {}


@pytest.mark.parametrize("value", [-1, 61, "soon", True, float("nan"), float("inf"), [1]])
def test_a_local_copy_lifetime_out_of_range_is_refused_with_what_to_fix(value) -> None:
    with pytest.raises(ImproperlyConfigured, match="local_copy_seconds must be a number of "
                                                   "seconds from 0 .* to 60; got"):
        RedisCache(REDIS, {"OPTIONS": {"local_copy_seconds": value}})


def test_a_local_copy_lifetime_from_a_cache_url_is_honoured(redis_prefix, reads,
                                                            monkeypatch) -> None:
    """As django-environ hands over `?local_copy_seconds=0.2`: the copy lives that long."""
    short = RedisCache(REDIS, {"KEY_PREFIX": redis_prefix,
                               "OPTIONS": {"local_copy_seconds": "0.2"}})
    short.set("k", "v", 60)
    assert short.get("k") == "v" and short.get("k") == "v"
    assert len(reads) == 1
    time.sleep(0.25)
    assert short.get("k") == "v"
    assert len(reads) == 2
