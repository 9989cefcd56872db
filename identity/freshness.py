"""Freshness of per-process copies: a change made anywhere holds on every process at its next
request, whatever Django's cache is.

Every change to clients, scopes, resources or signing keys bumps one generation number in the
database, in the transaction of the change. A process reads the generation at most once per
request (one indexed read of one row) and reloads whatever it read under another generation:
its key ring, and, when Django's cache is not shared by every process (local memory, the
default), its cached clients, resources and CORS answers. With a shared cache (Redis, memcached,
the database cache) those are invalidated in the cache itself, as before, and the generation
only governs the key ring.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Final

from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import transaction

from identity.conf import identity_settings

logger = logging.getLogger(__name__)
SHARED_BACKENDS: Final = frozenset({
    "django.core.cache.backends.redis.RedisCache",
    "identity.redis_cache.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django.core.cache.backends.db.DatabaseCache",
})


class _State(threading.local):
    in_request: bool = False
    generation: int | None = None
    last_known: int = 0
    last_lock: int = 0


_state = _State()


def cache_is_shared() -> bool:
    """Tell whether Django's cache (CACHE_ALIAS) is one store for every process and host."""
    backend = type(caches[identity_settings.CACHE_ALIAS])
    return _shared(f"{backend.__module__}.{backend.__qualname__}")


@functools.cache
def _shared(backend: str) -> bool:
    return backend in SHARED_BACKENDS


def current_generation() -> int:
    """Return the configuration generation, read once per request.

    When the database cannot be read, the last generation this thread saw is returned, so that
    an outage keeps serving from what is loaded rather than failing every request.
    """
    if _state.generation is not None:
        return _state.generation
    from identity.stores.orm_generation import read_generation

    try:
        value, _state.last_lock = read_generation()
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
    transaction.on_commit(forget_generation)


def forget_generation(**kwargs: Any) -> None:
    """Make the next read go to the database (after a change made by this very request)."""
    _state.generation = None


def _started(**kwargs: Any) -> None:
    _state.in_request = True
    _state.generation = None


def _finished(**kwargs: Any) -> None:
    _state.in_request = False
    _state.generation = None


request_started.connect(_started, dispatch_uid="identity-freshness-started")
request_finished.connect(_finished, dispatch_uid="identity-freshness-finished")
