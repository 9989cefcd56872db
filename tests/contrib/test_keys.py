"""The key store: fetched once, kept, refetched for an unknown kid at most once per interval,
refreshed after its maximum age, shared through Django's cache, and kept through failures.

Time is two fake clocks the tests move by hand; the fetch is a fake that counts.
"""

from __future__ import annotations

from typing import Any

import pytest

from identity.contrib.rest_framework.conf import parse
from identity.contrib.rest_framework.failures import _InvalidToken, _Unavailable
from identity.contrib.rest_framework.keys import KeyStore
from tests.contrib.support import ec_key, public_jwk, rsa_key, settings_for

AUTHORITY = "https://id.example.com"


class Clock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class FakeServer:
    """Answers discovery and JWKS fetches; counts the JWKS ones; can be made to fail."""

    def __init__(self) -> None:
        self.keys = [public_jwk(rsa_key(), "rsa")]
        self.jwks_fetches = 0
        self.failing = False

    def __call__(self, url: str, **_: Any) -> dict[str, Any]:
        if self.failing:
            raise _Unavailable(f"{url} answered HTTP 503")
        if url.endswith("/openid-configuration"):
            return {"jwks_uri": f"{AUTHORITY}/jwks",
                    "introspection_endpoint": f"{AUTHORITY}/connect/introspect"}
        self.jwks_fetches += 1
        return {"keys": list(self.keys)}


def _store(server: FakeServer, clock: Clock, **overrides: Any) -> KeyStore:
    settings = parse({**settings_for(AUTHORITY), "REQUIRE_HTTPS": True,
                      "SHARE_KEYS_IN_CACHE": False, "JWKS_MAX_AGE": 3600,
                      "JWKS_MIN_REFETCH_INTERVAL": 30, **overrides})
    return KeyStore(settings, fetch=server, wall=clock, monotonic=clock)


def test_keys_are_fetched_once_and_kept() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock)
    first = store.check_for("rsa", "RS256")
    clock.now += 3599
    assert store.check_for("rsa", "RS256") is first  # the same parsed key, no new fetch
    assert store.introspection_endpoint() == f"{AUTHORITY}/connect/introspect"
    assert server.jwks_fetches == 1


def test_an_unknown_kid_refetches_at_most_once_per_interval() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock)
    store.check_for("rsa", "RS256")
    with pytest.raises(_InvalidToken, match="unknown"):  # the keys were fetched just now
        store.check_for("random", "RS256")
    assert server.jwks_fetches == 1
    clock.now += 30
    for attempt in range(50):  # random kids, all within the interval
        with pytest.raises(_InvalidToken, match="unknown"):
            store.check_for(f"random-{attempt}", "RS256")
        clock.now += 0.5
    assert server.jwks_fetches == 2  # the first fetch, and one refetch
    clock.now += 30
    with pytest.raises(_InvalidToken):
        store.check_for("random-again", "RS256")
    assert server.jwks_fetches == 3


def test_a_key_added_by_rotation_is_found_by_the_refetch() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock)
    store.check_for("rsa", "RS256")
    clock.now += 31
    server.keys.append(public_jwk(ec_key(), "new"))
    assert store.check_for("new", "ES256") is not None
    assert server.jwks_fetches == 2


def test_a_known_kid_with_another_algorithm_does_not_refetch() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock)
    with pytest.raises(_InvalidToken, match="does not serve ES256"):
        store.check_for("rsa", "ES256")
    assert server.jwks_fetches == 1


def test_the_keys_are_refetched_after_their_maximum_age() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock, JWKS_MAX_AGE=600)
    store.check_for("rsa", "RS256")
    server.keys = [public_jwk(ec_key(), "ec")]  # the RSA key retired
    clock.now += 601
    with pytest.raises(_InvalidToken):
        store.check_for("rsa", "RS256")
    assert store.check_for("ec", "ES256") is not None
    assert server.jwks_fetches == 2


def test_a_failed_refresh_keeps_the_keys_held() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock, JWKS_MAX_AGE=600)
    check = store.check_for("rsa", "RS256")
    server.failing = True
    clock.now += 601
    assert store.check_for("rsa", "RS256") is check


def test_without_keys_a_failure_is_unavailable_and_retried_after_the_interval() -> None:
    server, clock = FakeServer(), Clock()
    store = _store(server, clock)
    server.failing = True
    with pytest.raises(_Unavailable, match="503"):
        store.check_for("rsa", "RS256")
    server.failing = False
    with pytest.raises(_Unavailable):  # not hammering a server that just failed
        store.check_for("rsa", "RS256")
    assert server.jwks_fetches == 0
    clock.now += 30
    assert store.check_for("rsa", "RS256") is not None


def test_discovery_must_name_https_endpoints() -> None:
    def fetch(url: str, **_: Any) -> dict[str, Any]:
        return {"jwks_uri": "http://id.example.com/jwks"}

    settings = parse({**settings_for(AUTHORITY), "REQUIRE_HTTPS": True})
    with pytest.raises(_Unavailable, match="not https"):
        KeyStore(settings, fetch=fetch).check_for("rsa", "RS256")


def test_processes_share_one_fetch_through_djangos_cache() -> None:
    server, clock = FakeServer(), Clock()
    first = _store(server, clock, SHARE_KEYS_IN_CACHE=True)
    second = _store(server, clock, SHARE_KEYS_IN_CACHE=True)  # another process's store
    first.check_for("rsa", "RS256")
    second.check_for("rsa", "RS256")
    assert (first.fetches, second.fetches, server.jwks_fetches) == (1, 0, 1)
    # A new kid: the first store to see it fetches, the other finds it in the cache.
    clock.now += 31
    server.keys.append(public_jwk(ec_key(), "new"))
    first.check_for("new", "ES256")
    second.check_for("new", "ES256")
    assert (first.fetches, second.fetches, server.jwks_fetches) == (2, 0, 2)
    # The shared copy ages like the local one: past the maximum age, a fetch again.
    clock.now += 3600
    second.check_for("rsa", "RS256")
    assert second.fetches == 1
