"""A rate limit per caller of the management API that holds across processes and hosts.

DRF's own throttles keep a history per key in Django's cache, which the local-memory default
keeps per process: two workers would each allow the full rate. This one counts in a fixed window,
in the cache when every process shares it and in the database otherwise, as the brute-force
counters do. The key is the authenticated caller, so nobody can spend another caller's budget.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from clients_app.api.access import caller_name
from identity.conf import identity_settings
from identity.http.throttling import over_rate


class CallerRateThrottle(BaseThrottle):
    """At most MANAGEMENT_THROTTLE_RATE requests per caller per window."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = identity_settings.MANAGEMENT_THROTTLE_RATE
        if rate is None or not getattr(request.user, "is_authenticated", False):
            return True
        self.retry_after = over_rate("api", caller_name(request), rate,
                                     "MANAGEMENT_THROTTLE_RATE")
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after
