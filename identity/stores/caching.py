"""Store decorators on Django's cache, shared across processes when the cache is Redis.

Spec: IdentityServer `CachingClientStore<T>`; unlike it, entries are invalidated when a client is
saved (IdentityServer4.EntityFramework#124), so an admin edit takes effect on the next request.

Each entry sits in the shared cache beside a small random stamp. A process keeps the values it
has unpickled, with their stamps; a request reads only the stamp, and unpickles the value again
only when the stamp changed. Invalidation deletes both, on every process at once.

When Django's cache is not shared by every process (local memory, the default), an invalidation
reaches only the process that made it; there the key carries the configuration generation
(`identity.freshness`), which every change bumps in the database, so that every process reads
the store again at its next request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, TypeVar

from django.core.cache import caches

from identity.conf import identity_settings
from identity.domain.client import Client
from identity.domain.resources import Resources
from identity.freshness import cache_get, cache_is_shared, current_generation, forget_cached
from identity.stores.interfaces import ClientStore, ResourceStore
from identity.stores.memory import InMemoryResourceStore

logger = logging.getLogger(__name__)
KEY_VERSION: Final = "v1"
MEMO_LIMIT: Final = 10_000  # values a process keeps unpickled
T = TypeVar("T")


class StampedCache:
    """Shared entries with stamps, and this process's unpickled copies of them."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: str, load: Callable[[], T | None], timeout: int) -> T | None:
        """Return the value under `key`, loading and caching it when absent (None: not cached)."""
        if not cache_is_shared():
            key = f"{key}:g{current_generation()}"
        try:
            stamp = cache_get(_stamp_key(key))
            memo = self._memo.get(key)
            if stamp is not None and memo is not None and memo[0] == stamp:
                return memo[1]  # type: ignore[no-any-return]
            cache = caches[identity_settings.CACHE_ALIAS]
            value = cache.get(key) if stamp is not None else None
        except Exception:  # a cache outage must not stop token issuance
            logger.warning("cache unavailable; reading the store", exc_info=True)
            return load()
        if value is None:
            value = load()
            if value is None:
                return None  # misses are not cached
            stamp = secrets.token_hex(8)
            try:
                cache.set_many({key: value, _stamp_key(key): stamp}, timeout)
            except Exception:
                logger.warning("cache unavailable; not caching", exc_info=True)
                return value
        with self._lock:
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = (stamp, value)
        return value

    def delete(self, key: str) -> None:
        """Invalidate `key` in the shared cache (and so in every process)."""
        caches[identity_settings.CACHE_ALIAS].delete_many([key, _stamp_key(key)])
        forget_cached([key, _stamp_key(key)])
        self._memo.pop(key, None)
        # Unshared caches: the generation the change bumped makes every process reload.


def _stamp_key(key: str) -> str:
    return key + ":stamp"


def stamp_keys_of_client(client_id: str) -> list[str]:
    """Return the stamps a request for this client reads: the client's and the resources'."""
    return [_stamp_key(client_cache_key(client_id)), _stamp_key(RESOURCES_KEY)]


_cache = StampedCache()


@functools.lru_cache(maxsize=4096)  # asked twice a token request: for the prefetch, then the read
def client_cache_key(client_id: str) -> str:
    """Return the cache key of a client; hashed, since ids may hold any character."""
    digest = hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:40]
    return f"identity:client:{KEY_VERSION}:{digest}"


def invalidate_client(client_id: str) -> None:
    """Drop a client from the shared cache; the next lookup reads the store again."""
    _cache.delete(client_cache_key(client_id))


class CachingClientStore:
    """Cache hits of the inner store for CLIENT_CACHE_TIMEOUT seconds; misses are not cached."""

    def __init__(self, inner: ClientStore) -> None:
        self.inner = inner

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the cached client, or read it from the inner store and cache it."""
        client = _cache.get_or_load(client_cache_key(client_id),
                                    lambda: self.inner.find_client_by_id(client_id),
                                    identity_settings.CLIENT_CACHE_TIMEOUT)
        return client if client is not None and client.client_id == client_id else None

    def all_clients(self) -> Iterator[Client]:
        """Yield every client of the inner store (not cached: used by tools, not requests)."""
        return self.inner.all_clients()


RESOURCES_KEY: Final = f"identity:resources:{KEY_VERSION}"


def invalidate_resources() -> None:
    """Drop the cached resource snapshot; the next lookup reads the store again."""
    _cache.delete(RESOURCES_KEY)


class CachingResourceStore:
    """Answer from one cached snapshot of every resource, refreshed when a resource is saved.

    Resources are few (tens to hundreds) and read on every token request: one cache read beats
    three queries.
    """

    def __init__(self, inner: ResourceStore) -> None:
        self.inner = inner

    def _snapshot(self) -> InMemoryResourceStore:
        store = _cache.get_or_load(
            RESOURCES_KEY, lambda: InMemoryResourceStore(self.inner.all_resources()),
            identity_settings.RESOURCE_CACHE_TIMEOUT)
        assert store is not None
        return store

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return the named scopes and their API resources from the snapshot."""
        return self._snapshot().find_resources_by_scope_names(names)

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the named API resources from the snapshot."""
        return self._snapshot().find_api_resources_by_name(names)

    def all_resources(self) -> Resources:
        """Return the snapshot."""
        return self._snapshot().all_resources()
