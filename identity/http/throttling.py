"""Brute-force protection that cannot be turned against the people it protects.

Two secrets are guessed: client secrets (`client`) and user passwords (`login`). Each failure is
counted for the guessed id and the caller's address together, and for the address whatever the
id. Over either limit that address is refused for the id (or for everything), before the secret
is checked; nobody else is. There is deliberately no limit per id from any address: anyone can
send failures under a public client id or someone's user name, and such a limit would let them
lock the owner out. Codes, refresh and reference tokens are 256-bit random handles, not guessable,
and are not counted at all. User codes of the device flow (`user_code`) are short enough to guess
(RFC 8628 §5.1): wrong ones are counted per address and per sign-in session, never per code or
client, so that whoever holds the device can always enter its code from elsewhere.

The counters live in Django's cache when every process shares it (Redis, memcached, the database
cache), and in the database otherwise, so the limits hold whatever the number of workers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from typing import Final, Literal

from django.core.cache import caches
from django.http import HttpRequest

from identity import clock
from identity.conf import identity_settings
from identity.errors import TooManyRequests
from identity.freshness import (
    cache_get_many,
    cache_is_shared,
    forget_cached,
    last_lock_started,
)

logger = logging.getLogger(__name__)
Kind = Literal["client", "login", "user_code"]
KEY_VERSION: Final = "v3"


def client_address(request: HttpRequest) -> str:
    """Return the caller's address as the trusted proxy saw it.

    Proxies append the address they received from to the header (X-Forwarded-For), so the
    entries before theirs are whatever the caller wrote. With TRUSTED_PROXIES proxies in front,
    the caller's address is that many entries from the end.
    """
    header = identity_settings.CLIENT_IP_HEADER
    value = request.META.get(header) if header else None
    if value:
        hops = [h.strip() for h in str(value).split(",") if h.strip()]
        if hops:
            return str(hops[-min(identity_settings.TRUSTED_PROXIES, len(hops))])
    return str(request.META.get("REMOTE_ADDR", ""))


def _counters(kind: Kind, subject: str, address: str) -> tuple[tuple[str, int], ...]:
    """Return each counter's key and limit; a limit of None switches that counter off.

    For `user_code` the subject is the sign-in session: its counter ignores the address.
    """
    settings = identity_settings
    if kind == "user_code":
        return _limited(kind, ("session", subject, ""), address,
                        settings.DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION,
                        settings.DEVICE_USER_CODE_FAILURE_LIMIT_PER_ADDRESS)
    return _limited(kind, ("pair", subject, address), address, settings.AUTH_FAILURE_LIMIT,
                    settings.AUTH_FAILURE_LIMIT_PER_ADDRESS)


# Asked twice a token request (for the prefetch, then the check); keyed by the limits too, so
# that a changed setting holds at once.
@functools.lru_cache(maxsize=4096)
def _limited(kind: Kind, own: tuple[str, str, str], address: str, own_limit: int | None,
             address_limit: int | None) -> tuple[tuple[str, int], ...]:
    # Hashed: ids and addresses are caller input, of any length and any characters.
    return tuple((_key(kind, *parts), limit)
                 for parts, limit in ((own, own_limit), (("address", "", address), address_limit))
                 if limit is not None)


def counter_keys(kind: Kind, subject: str, address: str) -> list[str]:
    """Return the cache keys check_not_locked reads for `subject` from `address`."""
    return [key for key, _ in _counters(kind, subject, address)]


def _key(kind: str, scope: str, subject: str, address: str) -> str:
    digest = hashlib.sha256(f"{kind}\x00{scope}\x00{subject}\x00{address}".encode()).hexdigest()
    return f"identity:fail:{KEY_VERSION}:{digest[:40]}"


def check_not_locked(kind: Kind, subject: str, address: str) -> None:
    """Raise TooManyRequests while this address has failed too often (for `subject`)."""
    settings = identity_settings
    if kind != "user_code" and settings.AUTH_FAILURE_LIMIT is None \
            and settings.AUTH_FAILURE_LIMIT_PER_ADDRESS is None:
        return
    try:
        if cache_is_shared():
            counters = _counters(kind, subject, address)
            counts = cache_get_many([key for key, _ in counters])
        else:
            from identity.stores.orm_throttle import counts as stored_counts

            now = clock.now()
            if last_lock_started() + identity_settings.AUTH_FAILURE_WINDOW < now.timestamp():
                return  # every counter that ever reached a limit has expired since
            counters = _counters(kind, subject, address)
            counts = stored_counts([key for key, _ in counters], now) if counters else {}
    except Exception:  # a cache outage must not stop authentication
        logger.warning("failure counters unavailable", exc_info=True)
        return
    if any(counts.get(key, 0) >= limit for key, limit in counters):
        raise TooManyRequests(identity_settings.AUTH_FAILURE_WINDOW)


def record_failure(kind: Kind, subject: str, address: str) -> None:
    """Count one failure of `subject` from `address`."""
    counters = _counters(kind, subject, address)
    if not counters:
        return
    keys = [key for key, _ in counters]
    window = identity_settings.AUTH_FAILURE_WINDOW
    try:
        if cache_is_shared():
            _increment_cached(keys, window)
            forget_cached(keys)
        else:
            from identity.stores.orm_generation import record_lock
            from identity.stores.orm_throttle import increment

            now = clock.now()
            counts = increment(keys, window, now)
            if any(counts.get(key, 0) >= limit for key, limit in counters):
                # Rounded up: a lock is never taken for older than it is.
                record_lock(math.ceil(now.timestamp()))
    except Exception:
        logger.warning("failure counters unavailable", exc_info=True)


def _increment_cached(keys: list[str], window: int) -> None:
    cache = caches[identity_settings.CACHE_ALIAS]
    for key in keys:
        # The window starts at the first failure: add() sets the expiry, incr() keeps it.
        if not cache.add(key, 1, window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, window)


# ---- request rates ------------------------------------------------------------------------------

_PERIODS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str, setting: str) -> tuple[int, int]:
    """Return (requests, seconds) of a rate such as "1200/minute"."""
    count, _, period = rate.partition("/")
    try:
        return int(count), _PERIODS[period.strip()[:1].lower()]
    except (ValueError, KeyError):
        raise ValueError(f"IDENTITY[{setting!r}] is {rate!r}; write it as count/period, e.g. "
                         f"1200/minute.") from None


def over_rate(kind: str, subject: str, rate: str, setting: str) -> float | None:
    """Count one request of `subject` against `rate`; return the seconds to wait when it is
    over, else None.

    A fixed window, counted where every process sees it: the cache when it is shared, the
    database otherwise. A counting outage lets the request through (logged).
    """
    limit, window = parse_rate(rate, setting)
    now = clock.now().timestamp()
    start = math.floor(now / window) * window
    # Hashed with the window: subjects are caller input, and a key must fit 64 characters.
    digest = hashlib.sha256(f"{kind}\x00{subject}\x00{int(start)}".encode()).hexdigest()
    key = f"identity:rate:v1:{digest[:40]}"
    try:
        count = _count_once(key, window + 1)
    except Exception:
        logger.warning("request counters unavailable", exc_info=True)
        return None
    return start + window - now if count > limit else None


def _count_once(key: str, window: int) -> int:
    if cache_is_shared():
        cache = caches[identity_settings.CACHE_ALIAS]
        if cache.add(key, 1, window):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, window)
            return 1
    from identity.stores.orm_throttle import increment

    return increment([key], window, clock.now()).get(key, 1)
