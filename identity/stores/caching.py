"""A client store decorator on Django's cache, shared across processes when the cache is Redis.

Spec: IdentityServer `CachingClientStore<T>`; unlike it, entries are invalidated when a client is
saved (IdentityServer4.EntityFramework#124), so an admin edit takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator

from django.core.cache import caches

from identity.conf import identity_settings
from identity.domain.client import Client
from identity.domain.resources import Resources
from identity.stores import ClientStore, ResourceStore
from identity.stores.memory import InMemoryResourceStore

logger = logging.getLogger(__name__)
KEY_VERSION = "v1"


def client_cache_key(client_id: str) -> str:
    """Return the cache key of a client; hashed, since ids may hold any character."""
    digest = hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:40]
    return f"identity:client:{KEY_VERSION}:{digest}"


def invalidate_client(client_id: str) -> None:
    """Drop a client from the shared cache; the next lookup reads the store again."""
    caches[identity_settings.CACHE_ALIAS].delete(client_cache_key(client_id))


class CachingClientStore:
    """Cache hits of the inner store for CLIENT_CACHE_TIMEOUT seconds; misses are not cached."""

    def __init__(self, inner: ClientStore) -> None:
        self.inner = inner

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the cached client, or read it from the inner store and cache it."""
        cache = caches[identity_settings.CACHE_ALIAS]
        key = client_cache_key(client_id)
        try:
            client = cache.get(key)
        except Exception:  # a cache outage must not stop token issuance
            logger.warning("client cache unavailable; reading the store", exc_info=True)
            return self.inner.find_client_by_id(client_id)
        if isinstance(client, Client) and client.client_id == client_id:
            return client
        client = self.inner.find_client_by_id(client_id)
        if client is not None:
            try:
                cache.set(key, client, identity_settings.CLIENT_CACHE_TIMEOUT)
            except Exception:
                logger.warning("client cache unavailable; not caching", exc_info=True)
        return client

    def all_clients(self) -> Iterator[Client]:
        """Yield every client of the inner store (not cached: used by tools, not requests)."""
        return self.inner.all_clients()


RESOURCES_KEY = f"identity:resources:{KEY_VERSION}"


def invalidate_resources() -> None:
    """Drop the cached resource snapshot; the next lookup reads the store again."""
    caches[identity_settings.CACHE_ALIAS].delete(RESOURCES_KEY)


class CachingResourceStore:
    """Answer from one cached snapshot of every resource, refreshed when a resource is saved.

    Resources are few (tens to hundreds) and read on every token request: one cache read beats
    three queries.
    """

    def __init__(self, inner: ResourceStore) -> None:
        self.inner = inner

    def _snapshot(self) -> InMemoryResourceStore:
        cache = caches[identity_settings.CACHE_ALIAS]
        try:
            resources = cache.get(RESOURCES_KEY)
        except Exception:
            logger.warning("resource cache unavailable; reading the store", exc_info=True)
            return InMemoryResourceStore(self.inner.all_resources())
        if not isinstance(resources, Resources):
            resources = self.inner.all_resources()
            try:
                cache.set(RESOURCES_KEY, resources, identity_settings.RESOURCE_CACHE_TIMEOUT)
            except Exception:
                logger.warning("resource cache unavailable; not caching", exc_info=True)
        return InMemoryResourceStore(resources)

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return the named scopes and their API resources from the snapshot."""
        return self._snapshot().find_resources_by_scope_names(names)

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the named API resources from the snapshot."""
        return self._snapshot().find_api_resources_by_name(names)

    def all_resources(self) -> Resources:
        """Return the snapshot."""
        return self._snapshot().all_resources()
