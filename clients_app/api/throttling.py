"""A rate limit per caller of the management API that holds across processes and hosts.

DRF's own throttles keep a history per key in Django's cache, which the local-memory default
keeps per process: two workers would each allow the full rate. This one counts in a fixed window,
in the cache when every process shares it and in the database otherwise, as the brute-force
counters do. The key is the authenticated caller, so nobody can spend another caller's budget.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from clients_app.api.access import caller_name
from identity import clock
from identity.conf import identity_settings
from identity.freshness import cache_is_shared

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (requests, seconds) of a rate such as "1200/minute"."""
    count, _, period = rate.partition("/")
    try:
        return int(count), _PERIODS[period.strip()[:1].lower()]
    except (ValueError, KeyError):
        raise ValueError(f"IDENTITY['MANAGEMENT_THROTTLE_RATE'] is {rate!r}; write it as "
                         f"count/period, e.g. 1200/minute.") from None


class CallerRateThrottle(BaseThrottle):
    """At most MANAGEMENT_THROTTLE_RATE requests per caller per window."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = identity_settings.MANAGEMENT_THROTTLE_RATE
        if rate is None or not getattr(request.user, "is_authenticated", False):
            return True
        limit, window = parse_rate(rate)
        now = clock.now().timestamp()
        start = math.floor(now / window) * window
        # Hashed with the window: callers name themselves, and a key must fit 64 characters.
        digest = hashlib.sha256(f"{caller_name(request)}\x00{int(start)}".encode()).hexdigest()
        key = f"identity:rate:v1:{digest[:40]}"
        count = _count(key, window)
        if count > limit:
            self.retry_after = start + window - now
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after


def _count(key: str, window: int) -> int:
    if cache_is_shared():
        cache = caches[identity_settings.CACHE_ALIAS]
        if cache.add(key, 1, window + 1):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, window + 1)
            return 1
    from identity.stores.orm_throttle import increment

    return increment([key], window + 1, clock.now()).get(key, 1)
