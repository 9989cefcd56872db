"""Brute-force protection for client authentication, counted in Django's (shared) cache.

Failures are counted per claimed client id *and* address, so an attacker elsewhere cannot lock a
legitimate client out, while one address guessing one client's secret is refused (429).
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import caches
from django.http import HttpRequest

from identity.conf import identity_settings
from identity.errors import TooManyRequests

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """Return the caller's address: REMOTE_ADDR, or the first hop of a trusted proxy header."""
    header = identity_settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        return str(request.META[header]).split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(client_id: str, address: str) -> str:
    digest = hashlib.sha256(f"{client_id}\x00{address}".encode()).hexdigest()[:40]
    return f"identity:authfail:v1:{digest}"


def check_not_locked(client_id: str, address: str) -> None:
    """Raise TooManyRequests while this id and address have failed too often."""
    try:
        failures = caches[identity_settings.CACHE_ALIAS].get(_key(client_id, address), 0)
    except Exception:  # a cache outage must not stop authentication
        logger.warning("throttle cache unavailable", exc_info=True)
        return
    if failures >= identity_settings.AUTH_FAILURE_LIMIT:
        raise TooManyRequests(identity_settings.AUTH_FAILURE_WINDOW)


def record_failure(client_id: str, address: str) -> None:
    """Count one failed authentication of `client_id` from `address`."""
    cache = caches[identity_settings.CACHE_ALIAS]
    key = _key(client_id, address)
    try:
        if not cache.add(key, 1, identity_settings.AUTH_FAILURE_WINDOW):
            cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, identity_settings.AUTH_FAILURE_WINDOW)
    except Exception:
        logger.warning("throttle cache unavailable", exc_info=True)
