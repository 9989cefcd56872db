"""A Redis that accepts connections and then never answers must not hold requests: with the
socket timeouts the project's settings put on a Redis cache, the stores fall back to the database
and the brute-force counters fail open."""

from __future__ import annotations

import signal
import socket

import pytest

GRANT = {"grant_type": "client_credentials", "scope": "api1"}


@pytest.fixture
def silent_redis(settings):
    """Switch the cache to a Redis that never answers: connections are queued by the kernel
    (the backlog) and never read. (Saving a client while it hangs is refused, since its cache
    entry could not be invalidated: seed before.)"""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)

    def switch() -> None:
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}

    yield switch
    listener.close()


def test_requests_are_served_from_the_database_while_redis_hangs(seeded, token_post,
                                                                 silent_redis) -> None:
    seeded()
    silent_redis()

    def hung(*_: object) -> None:
        raise AssertionError("a request waited on the silent Redis")

    # An alarm, so that a hang fails the test instead of stopping the suite.
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        answers = [token_post(GRANT, auth=("service.client", secret)).status_code
                   for secret in ("secret", "guess")]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert answers == [200, 401]
