"""Which browser origins may call the back-channel endpoints: the clients' AllowedCorsOrigins.

Spec: IdentityServer `ICorsPolicyService` (in-memory, EF and caching implementations).
The interface is `interfaces.CorsPolicy`; the process's policy is `registry.get_cors_policy()`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence

from django.core.cache import caches

from identity.conf import identity_settings
from identity.domain.client import Client
from identity.freshness import cache_is_shared, current_generation
from identity.stores.interfaces import CorsPolicy

logger = logging.getLogger(__name__)
CORS_TIMEOUT = 60  # seconds; a disabled client's origin may answer CORS this long


class ClientListCorsPolicy:
    """The origins of a fixed list of clients (the JSON file's)."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self.origins = frozenset(o for c in clients if c.enabled for o in c.allowed_cors_origins)

    def is_origin_allowed(self, origin: str) -> bool:
        """Return True when a listed client allows `origin`."""
        return origin in self.origins


def cors_cache_key(origin: str) -> str:
    """Return the cache key of one origin's answer."""
    return "identity:cors:v1:" + hashlib.sha256(origin.encode("utf-8")).hexdigest()[:40]


def invalidate_origin(origin: str) -> None:
    """Forget the cached answer for `origin`."""
    caches[identity_settings.CACHE_ALIAS].delete(cors_cache_key(origin))


class CachingCorsPolicy:
    """Cache another policy's answers in Django's cache (misses too, briefly)."""

    def __init__(self, inner: CorsPolicy) -> None:
        self.inner = inner

    def is_origin_allowed(self, origin: str) -> bool:
        """Return the cached answer, or ask the inner policy and cache it."""
        cache = caches[identity_settings.CACHE_ALIAS]
        key = cors_cache_key(origin)
        try:
            if not cache_is_shared():  # invalidations reach this process by the generation
                key = f"{key}:g{current_generation()}"
            answer = cache.get(key)
            if answer is None:
                answer = self.inner.is_origin_allowed(origin)
                cache.set(key, answer, CORS_TIMEOUT)
        except Exception:
            logger.warning("CORS cache unavailable", exc_info=True)
            return self.inner.is_origin_allowed(origin)
        return bool(answer)


class ChainCorsPolicy:
    """Allow an origin that any of several policies allows."""

    def __init__(self, policies: Sequence[CorsPolicy]) -> None:
        self.policies = tuple(policies)

    def is_origin_allowed(self, origin: str) -> bool:
        """Return True when one policy allows `origin`."""
        return any(p.is_origin_allowed(origin) for p in self.policies)
