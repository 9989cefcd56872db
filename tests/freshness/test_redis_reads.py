"""The Redis cache backend's reads (GET, MGET on a connection each thread keeps) return what
Django's backend returns, survive the server closing the connection, never reuse a connection
with a reply in flight, and are never shared with a forked child."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import redis
from django.core.cache.backends.redis import RedisSerializer

from identity.redis_cache import RedisCache, ReusingRedisCacheClient
from tests.freshness.conftest import REDIS


@pytest.fixture
def cache(redis_prefix: str) -> RedisCache:
    """Our backend under a key prefix of this test, its keys removed afterwards."""
    return RedisCache(REDIS, {"KEY_PREFIX": redis_prefix})


def kept_connection(cache: RedisCache) -> Any:
    client: Any = cache._cache
    return client._kept.connections[0].connection


def test_reads_return_what_was_written(cache) -> None:
    values = {"count": 7, "negative": -3, "text": "é", "bytes": b"\x80raw",
              "structure": {"scopes": ["api1"], "n": 2}, "none": None}
    cache.set_many(values, 60)
    for key, value in values.items():
        assert cache.get(key, "missing") == value
    assert cache.get("absent", "missing") == "missing"
    assert cache.get_many([*values, "absent"]) == values
    assert cache.get_many([]) == {}
    assert cache.incr("count") == 8 and cache.get("count") == 8


def test_a_connection_the_server_closed_is_replaced(cache) -> None:
    cache.set("k", "v", 60)
    assert cache.get("k") == "v"
    connection = kept_connection(cache)
    host, port = connection._sock.getsockname()[:2]
    assert redis.Redis.from_url(REDIS).client_kill(f"{host}:{port}")  # as Redis's timeout does
    assert cache.get("k") == "v"  # retried once, on a new connection
    assert kept_connection(cache) is not connection


def test_a_failed_read_drops_the_connection(cache, monkeypatch) -> None:
    cache.set("k", "v", 60)
    assert cache.get("k") == "v"
    connection = kept_connection(cache)

    def interrupted(connection: Any, command: tuple[Any, ...]) -> Any:
        connection.send_command(*command)
        raise TimeoutError("reply still in flight")

    monkeypatch.setattr(ReusingRedisCacheClient, "_round_trip", staticmethod(interrupted))
    with pytest.raises(TimeoutError):
        cache.get("not read yet")  # "k" would be answered from the thread's copy
    monkeypatch.undo()
    # The unread reply of the interrupted GET must not be read as the answer to the next one.
    cache.set("other", "right", 60)
    assert cache.get("other") == "right"
    assert kept_connection(cache) is not connection


def test_redis_down_is_the_callers_error() -> None:
    down = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 1}})
    with pytest.raises(redis.ConnectionError):
        down.get("k")


def test_each_thread_reads_on_its_own_connection(cache) -> None:
    cache.set("k", "v", 60)
    assert cache.get("k") == "v"
    seen: list[Any] = []

    def read() -> None:
        assert cache.get("k") == "v"
        seen.append(kept_connection(cache))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen and seen[0] is not kept_connection(cache)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_reads_on_its_parents_connection(cache) -> None:
    cache.set("k", "parent", 60)
    assert cache.get("k") == "parent"
    parents = kept_connection(cache)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it read right, on a connection of its own
        try:
            ok = cache.get("k") == "parent" and kept_connection(cache) is not parents
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"
    # The parent's connection is still in step: the child sent nothing on it.
    assert cache.get("k") == "parent" and kept_connection(cache) is parents


class TaggingSerializer(RedisSerializer):
    """A project's own serializer: its `loads` must see every value read."""

    def loads(self, data: Any) -> Any:
        return ("loaded by the project's serializer", super().loads(data))


def test_a_serializer_of_the_projects_own_reads_every_value(redis_prefix) -> None:
    cache = RedisCache(REDIS, {"KEY_PREFIX": redis_prefix,
                               "OPTIONS": {"serializer": TaggingSerializer}})
    cache.set("k", {"a": 1}, 60)
    assert cache.get("k") == ("loaded by the project's serializer", {"a": 1})
    assert cache.get_many(["k"]) == {"k": ("loaded by the project's serializer", {"a": 1})}
