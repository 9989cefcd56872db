"""Redis for the tests of this folder: a database of their own and a key prefix per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis

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
