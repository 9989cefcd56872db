"""Freshness of per-process copies: a change made anywhere holds on every process at its next
request, whatever Django's cache is.

Every change to clients, scopes, resources or signing keys bumps one generation number in the
database, in the transaction of the change. A process reads the generation at most once per
request (one indexed read of one row) and reloads whatever it read under another generation:
its key ring, and, when Django's cache is not shared by every process (local memory, the
default), its cached clients, resources and CORS answers. With a shared cache (Redis, memcached,
the database cache) those are invalidated in the cache itself, as before, and the generation
only governs the key ring.

With a shared cache the generation is also mirrored there, so that a token request needs no
database read at all: every change sets the mirror to a fresh random value once it commits, and
a process that finds the mirror missing reads the database and only *adds* what it read, so a
value read before a change can never overwrite the one the change set. The mirror expires after
GENERATION_MIRROR_TIMEOUT, which bounds how long a process that died between its commit and
setting the mirror can leave the others on the old generation.

`prefetch` gets the shared-cache reads a request is known to need (failure counters, stamps,
the mirror) in one round trip; the reads that follow in the same request use what it got.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable
from typing import Any, Final

from django.core.cache import caches
from django.core.signals import request_finished, request_started, setting_changed
from django.db import transaction

from identity.conf import identity_settings
from identity.errors import CacheUnavailable

logger = logging.getLogger(__name__)
SHARED_BACKENDS: Final = frozenset({
    "django.core.cache.backends.redis.RedisCache",
    "identity.redis_cache.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django.core.cache.backends.db.DatabaseCache",
})


GENERATION_MIRROR_KEY: Final = "identity:generation:v1"
# Seconds the mirror lives; when it expires one request reads the database and adds it again.
GENERATION_MIRROR_TIMEOUT: Final = 60


class _State(threading.local):
    in_request: bool = False
    generation: int | None = None
    last_known: int = 0
    last_lock: int = 0
    # Shared-cache values got by prefetch for this request (None: a key found missing).
    fetched: dict[str, Any] | None = None
    # The prefetch failed: the cache is down for this request, and is not asked again.
    cache_down: bool = False


_state = _State()


def cache_is_shared() -> bool:
    """Tell whether Django's cache (CACHE_ALIAS) is one store for every process and host."""
    # Asked several times a request; the answer only changes with the settings.
    global _backend_shared
    if _backend_shared is None:
        backend = type(caches[identity_settings.CACHE_ALIAS])
        _backend_shared = f"{backend.__module__}.{backend.__qualname__}" in SHARED_BACKENDS
    return _backend_shared


_backend_shared: bool | None = None


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _backend_shared
    if setting in ("CACHES", "IDENTITY"):
        _backend_shared = None


def current_generation() -> int:
    """Return the configuration generation, read once per request.

    When the database cannot be read, the last generation this thread saw is returned, so that
    an outage keeps serving from what is loaded rather than failing every request.
    """
    if _state.generation is not None:
        return _state.generation
    from identity.stores.orm_generation import read_generation

    try:
        mirrored = _mirrored_generation() if cache_is_shared() else None
    except Exception:  # the cache is down: the database tells
        mirrored = None
    if mirrored is not None:
        value = mirrored
        if _state.in_request:
            _state.generation = value
        return value
    try:
        value, _state.last_lock = read_generation()
        if cache_is_shared():
            _add_mirror(value)
    except Exception:
        logger.warning("configuration generation unreadable; using the last known",
                       exc_info=True)
        return _state.last_known
    _state.last_known = value
    if _state.in_request:
        _state.generation = value
    return value


def last_lock_started() -> int:
    """Return when (Unix seconds) a failure counter in the database last reached its limit,
    read with the generation (so at most once per request)."""
    current_generation()
    return _state.last_lock


def configuration_changed() -> None:
    """Record that configuration changed: every process reloads at its next request.

    Call it inside the transaction of the change; the new generation becomes visible with it.
    Every call bumps, even in one transaction (an admin save sends a signal per inline row): a
    value this process reads between two changes of one transaction is cached under the first
    bump, and only the second tells it apart from the final state.
    """
    from identity.stores.orm_generation import bump_generation

    bump_generation()
    forget_generation()
    transaction.on_commit(_changed)


def _changed() -> None:
    forget_generation()
    if cache_is_shared():
        try:
            # A value no process has seen: every one reloads, whatever it read before.
            _mirror(secrets.randbits(62) | 1 << 62, add_only=False)
        except Exception:  # Redis down: the mirror expires, and the database tells then
            logger.warning("configuration generation not mirrored in the cache", exc_info=True)


def _mirrored_generation() -> int | None:
    value = cache_get(GENERATION_MIRROR_KEY)
    return value if isinstance(value, int) else None


def _mirror(value: int, *, add_only: bool) -> None:
    cache = caches[identity_settings.CACHE_ALIAS]
    if add_only:
        cache.add(GENERATION_MIRROR_KEY, value, GENERATION_MIRROR_TIMEOUT)
    else:
        cache.set(GENERATION_MIRROR_KEY, value, GENERATION_MIRROR_TIMEOUT)
    forget_cached([GENERATION_MIRROR_KEY])


def _add_mirror(value: int) -> None:
    if _state.cache_down:
        return
    try:
        _mirror(value, add_only=True)
    except Exception:  # the cache is down: the next request reads the database again
        logger.warning("configuration generation not mirrored in the cache", exc_info=True)


def prefetch(keys: Iterable[str]) -> None:
    """Read `keys` and the generation mirror from the shared cache in one round trip, for the
    reads of this request that follow (no-op outside a request or with an unshared cache)."""
    if not _state.in_request or not cache_is_shared():
        return
    wanted = [*keys, GENERATION_MIRROR_KEY]
    try:
        found = caches[identity_settings.CACHE_ALIAS].get_many(wanted)
    except Exception:
        # Each read that follows fails at once and falls back as for any cache outage,
        # rather than waiting for the cache's timeout again.
        logger.warning("cache unavailable", exc_info=True)
        _state.cache_down = True
        return
    _state.fetched = {key: found.get(key) for key in wanted}


def cache_get(key: str) -> Any:
    """Return the shared cache's value under `key`, as prefetched by this request if it was."""
    fetched = _state.fetched
    if fetched is not None and key in fetched:
        return fetched[key]
    if _state.cache_down:
        raise CacheUnavailable(key)
    return caches[identity_settings.CACHE_ALIAS].get(key)


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """`get_many` on the shared cache, answered from this request's prefetch when it has all."""
    fetched = _state.fetched
    if fetched is not None and all(key in fetched for key in keys):
        return {key: fetched[key] for key in keys if fetched[key] is not None}
    if _state.cache_down:
        raise CacheUnavailable(*keys)
    return dict(caches[identity_settings.CACHE_ALIAS].get_many(keys))


def forget_cached(keys: Iterable[str]) -> None:
    """Drop prefetched values this request changed, so that its next read sees the change."""
    if _state.fetched is not None:
        for key in keys:
            _state.fetched.pop(key, None)


def forget_generation(**kwargs: Any) -> None:
    """Make the next read go to the database (after a change made by this very request)."""
    _state.generation = None


def _started(**kwargs: Any) -> None:
    _state.in_request = True
    _state.generation = None
    _state.fetched = None
    _state.cache_down = False


def _finished(**kwargs: Any) -> None:
    _state.in_request = False
    _state.generation = None
    _state.fetched = None
    _state.cache_down = False


setting_changed.connect(_settings_changed, dispatch_uid="identity-freshness-settings")
request_started.connect(_started, dispatch_uid="identity-freshness-started")
request_finished.connect(_finished, dispatch_uid="identity-freshness-finished")
