"""Brute-force protection, counted in Django's cache (shared across processes when it is Redis).

Three things are guessed: client secrets (`client`), user passwords (`login`) and codes or refresh
tokens (`grant`, counted per client). Each failure is counted three times: for the guessed id and
the address together, for the id from any address, and for the address whatever the id. The pair
has the low limit, so one address guessing one secret is stopped quickly while a legitimate user
elsewhere is not locked out; the other two have higher limits and stop distributed guessing of
one id, and one address spraying many ids.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Final, Literal

from django.core.cache import caches
from django.http import HttpRequest

from identity.conf import identity_settings
from identity.errors import TooManyRequests

logger = logging.getLogger(__name__)
Kind = Literal["client", "login", "grant"]
KEY_VERSION: Final = "v2"


def client_address(request: HttpRequest) -> str:
    """Return the caller's address: REMOTE_ADDR, or the first hop of a trusted proxy header."""
    header = identity_settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        return str(request.META[header]).split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _counters(kind: Kind, subject: str, address: str) -> dict[str, int]:
    """Map each counter's cache key to its limit; a limit of None switches that counter off."""
    settings = identity_settings
    if kind == "login":  # user names are matched case-insensitively by many backends
        subject = subject.casefold()
    limits = {("pair", subject, address): settings.AUTH_FAILURE_LIMIT,
              ("id", subject, ""): settings.AUTH_FAILURE_LIMIT_PER_ID,
              ("address", "", address): settings.AUTH_FAILURE_LIMIT_PER_ADDRESS}
    # Hashed: ids and addresses are caller input, of any length and any characters.
    return {_key(kind, *parts): limit for parts, limit in limits.items() if limit is not None}


def _key(kind: str, scope: str, subject: str, address: str) -> str:
    digest = hashlib.sha256(f"{kind}\x00{scope}\x00{subject}\x00{address}".encode()).hexdigest()
    return f"identity:fail:{KEY_VERSION}:{digest[:40]}"


def check_not_locked(kind: Kind, subject: str, address: str) -> None:
    """Raise TooManyRequests while `subject` or `address` has failed too often."""
    counters = _counters(kind, subject, address)
    try:
        counts = caches[identity_settings.CACHE_ALIAS].get_many(list(counters))
    except Exception:  # a cache outage must not stop authentication
        logger.warning("throttle cache unavailable", exc_info=True)
        return
    if any(counts.get(key, 0) >= limit for key, limit in counters.items()):
        raise TooManyRequests(identity_settings.AUTH_FAILURE_WINDOW)


def record_failure(kind: Kind, subject: str, address: str) -> None:
    """Count one failure of `subject` from `address`."""
    cache = caches[identity_settings.CACHE_ALIAS]
    window = identity_settings.AUTH_FAILURE_WINDOW
    for key in _counters(kind, subject, address):
        try:
            # The window starts at the first failure: add() sets the expiry, incr() keeps it.
            if not cache.add(key, 1, window):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, window)
        except Exception:
            logger.warning("throttle cache unavailable", exc_info=True)
            return
