"""Reference (opaque) access tokens, checked with the introspection endpoint (RFC 7662).

The API calls as itself: HTTP Basic with its own credentials (on this identity server an
ApiResource's name and one of its ApiSecrets). An active answer is kept in Django's cache for
INTROSPECTION_CACHE_SECONDS, never past the token's `exp`, under a SHA-256 of the token: the
cache (often a shared Redis) never holds a token that could be replayed. The price of the
cache is that a revoked token stays accepted for at most that long; inactive answers are not
kept, so a token that was never good costs a call each time.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote_plus

from django.core.cache import caches

from identity.contrib.rest_framework.claims import check_claims
from identity.contrib.rest_framework.conf import ResourceServerSettings
from identity.contrib.rest_framework.failures import _InvalidToken
from identity.contrib.rest_framework.fetching import fetch_json
from identity.contrib.rest_framework.keys import Fetch, KeyStore

logger = logging.getLogger("identity.contrib.rest_framework")

# RFC 7662 §2.2 token_type: the OAuth token type. Our server answers "Bearer" for access tokens
# and names other kinds (refresh_token, ...); "DPoP" tokens need a proof Bearer cannot give, so
# they pass only when the caller checks one (allow_bound).
_BEARER_TYPES: Final = frozenset({"bearer", "access_token"})
_BOUND_TYPES: Final = _BEARER_TYPES | {"dpop"}


def cache_key(token: str) -> str:
    """Return the cache key of a token's introspection answer: a hash, never the token."""
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return f"identity.contrib.rest_framework:introspection:{digest}"


class Introspector:
    """Ask the authority whether reference tokens are active, remembering active answers."""

    def __init__(self, settings: ResourceServerSettings, keys: KeyStore, *,
                 fetch: Fetch | None = None, wall: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._keys = keys
        self._fetch = fetch
        self._wall = wall
        self.calls = 0  # introspection requests made: for tests
        self._authorization: str | None = None
        if settings.introspection_client_id and settings.introspection_client_secret:
            # RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
            pair = (f"{quote_plus(settings.introspection_client_id)}:"
                    f"{quote_plus(settings.introspection_client_secret)}")
            self._authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")

    def validate(self, token: str, *, allow_bound: bool = False) -> dict[str, Any]:
        """Return the active token's claims; raise _InvalidToken, or _Unavailable when the
        endpoint cannot be asked. A sender-constrained token (`cnf`, token_type DPoP) is
        refused unless `allow_bound` (see check_claims)."""
        if self._authorization is None:
            raise _InvalidToken("only JWT access tokens are accepted here")
        key = cache_key(token)
        cached = self._cached(key)
        if cached is not None:
            self._check(cached, self._wall(), allow_bound)
            return cached
        fetch = self._fetch or fetch_json
        self.calls += 1
        answer = fetch(self._keys.introspection_endpoint(), timeout=self._settings.http_timeout,
                       form={"token": token, "token_type_hint": "access_token"},
                       headers={"Authorization": self._authorization})
        if answer.get("active") is not True:
            raise _InvalidToken("the token is not active")
        now = self._wall()
        self._check(answer, now, allow_bound)
        self._remember(key, answer, now)
        return answer

    def _check(self, answer: dict[str, Any], now: float, allow_bound: bool) -> None:
        token_type = answer.get("token_type")
        accepted = _BOUND_TYPES if allow_bound else _BEARER_TYPES
        if token_type is not None and str(token_type).lower() not in accepted:
            raise _InvalidToken("the token is not a bearer access token")
        check_claims(answer, self._settings, now, require_exp=False, allow_bound=allow_bound)

    def _lifetime(self, answer: dict[str, Any], now: float) -> int:
        seconds = self._settings.introspection_cache_seconds
        expires = answer.get("exp")
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            seconds = min(seconds, expires - now)
        return int(seconds)  # rounded down: never kept past exp

    def _cached(self, key: str) -> dict[str, Any] | None:
        try:
            entry = caches[self._settings.cache_alias].get(key)
        except Exception as err:  # a cache that is down costs a call, not a failure
            logger.warning("Could not read the introspection cache: %s", err)
            return None
        return entry if isinstance(entry, dict) else None

    def _remember(self, key: str, answer: dict[str, Any], now: float) -> None:
        seconds = self._lifetime(answer, now)
        if seconds < 1:
            return
        try:
            caches[self._settings.cache_alias].set(key, answer, seconds)
        except Exception as err:
            logger.warning("Could not write the introspection cache: %s", err)
