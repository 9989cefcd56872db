"""Redis for the tests of this folder: a database of their own and a key prefix per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from identity.redis_cache import ReusingRedisCacheClient

REDIS = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test on REDIS, its keys deleted afterwards; skip without Redis."""
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    prefix = f"test-freshness-{secrets.token_hex(4)}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def record_backend_reads(monkeypatch: pytest.MonkeyPatch, sent: list[tuple[Any, ...]]) -> None:
    """Append to `sent` every read (GET, MGET) the project's Redis backend sends from now on: it
    sends them on a connection of its own, not through redis.Redis."""
    round_trip = ReusingRedisCacheClient._round_trip

    def counted(connection: Any, command: tuple[Any, ...]) -> Any:
        sent.append(command)
        return round_trip(connection, command)

    monkeypatch.setattr(ReusingRedisCacheClient, "_round_trip", staticmethod(counted))
