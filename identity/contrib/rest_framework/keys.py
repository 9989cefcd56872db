"""The identity server's metadata and signing keys, fetched and kept per process.

The discovery document (OpenID Connect Discovery §4) names the key set (`jwks_uri`) and the
introspection endpoint; both are fetched together and kept, with the keys already turned into
signature checks (see jwk.py), for JWKS_MAX_AGE seconds. So that a key added by a rotation
is found before then, a token signed with an unknown `kid` triggers a fetch at once, but at
most once per JWKS_MIN_REFETCH_INTERVAL seconds per process: otherwise tokens carrying random
kids would turn every request into two calls to the identity server.

When SHARE_KEYS_IN_CACHE is on, the fetched documents also go to Django's cache, so that the
processes of one API share a fetch instead of each making its own. A fetch that fails keeps
the keys already held (the last good set answers until the server is back); with none held,
the request gets a 401 and the failure is logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import caches

from identity.contrib.rest_framework.conf import ResourceServerSettings
from identity.contrib.rest_framework.failures import _InvalidToken, _Unavailable
from identity.contrib.rest_framework.fetching import fetch_json
from identity.contrib.rest_framework.jwk import Check, build_checks

logger = logging.getLogger("identity.contrib.rest_framework")

Fetch = Callable[..., dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One fetch of the metadata and keys, and when it was made (wall clock, comparable
    across the processes sharing it)."""

    fetched_at: float
    introspection_endpoint: str | None
    checks: Mapping[tuple[str | None, str], Check]


class KeyStore:
    """Signature checks by (kid, alg), and the introspection endpoint, for one authority.

    Thread-safe: a refresh happens under a lock, readers take the current snapshot without
    one. `fetch`, `wall` and `monotonic` are replaceable for tests."""

    def __init__(self, settings: ResourceServerSettings, *, fetch: Fetch | None = None,
                 wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._fetch = fetch
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._last_attempt: float | None = None
        digest = hashlib.sha256(settings.discovery_url.encode()).hexdigest()[:32]
        self._cache_key = f"identity.contrib.rest_framework:keys:{digest}"
        self.fetches = 0  # HTTP fetches of the key set made by this store: for tests and logs

    # --- what requests ask -------------------------------------------------------------------

    def check_for(self, kid: str | None, algorithm: str) -> Check:
        """Return the signature check of key `kid` for `algorithm`; raise _InvalidToken when no
        published key serves them, _Unavailable when no keys could be had."""
        snapshot = self._fresh()
        check = snapshot.checks.get((kid, algorithm))
        if check is not None:
            return check
        if any(known == kid for known, _ in snapshot.checks):
            raise _InvalidToken(f"the signing key does not serve {algorithm}")
        snapshot = self._refresh(snapshot, wanted=(kid, algorithm))
        check = snapshot.checks.get((kid, algorithm))
        if check is None:
            raise _InvalidToken("the token's signing key is unknown")
        return check

    def introspection_endpoint(self) -> str:
        """Return the introspection endpoint the discovery document names."""
        endpoint = self._fresh().introspection_endpoint
        if endpoint is None:
            raise _Unavailable("the discovery document names no introspection_endpoint")
        return endpoint

    # --- refreshing --------------------------------------------------------------------------

    def _fresh(self) -> Snapshot:
        snapshot = self._snapshot
        max_age = self._settings.jwks_max_age
        if snapshot is not None and self._wall() - snapshot.fetched_at < max_age:
            return snapshot
        return self._refresh(snapshot, wanted=None)

    def _refresh(self, seen: Snapshot | None, wanted: tuple[str | None, str] | None) -> Snapshot:
        """Fetch anew unless another thread just did or the last attempt is too recent; return
        the snapshot to use. `wanted` is the (kid, alg) an unknown token asked for."""
        with self._lock:
            current = self._snapshot
            if current is not seen and current is not None:
                return current  # another thread refreshed while this one waited
            now = self._monotonic()
            if (self._last_attempt is not None
                    and now - self._last_attempt < self._settings.jwks_min_refetch_interval):
                if seen is None:
                    raise _Unavailable("no signing keys: the last fetch failed moments ago")
                return seen
            self._last_attempt = now
            try:
                snapshot = self._load(seen, wanted)
            except _Unavailable as err:
                if seen is None:
                    raise
                logger.warning("Keeping the signing keys fetched before: %s", err)
                return seen
            self._snapshot = snapshot
            return snapshot

    def _load(self, seen: Snapshot | None, wanted: tuple[str | None, str] | None) -> Snapshot:
        shared = self._shared()
        if shared is not None:
            age = self._wall() - shared.fetched_at
            newer = seen is None or shared.fetched_at > seen.fetched_at
            if age < self._settings.jwks_max_age and newer and (
                    wanted is None or wanted in shared.checks):
                return shared
        return self._download()

    def _download(self) -> Snapshot:
        settings = self._settings
        fetch = self._fetch or fetch_json
        discovery = fetch(settings.discovery_url, timeout=settings.http_timeout)
        jwks_uri = self._endpoint(discovery, "jwks_uri")
        if jwks_uri is None:
            raise _Unavailable(f"{settings.discovery_url} names no jwks_uri")
        jwks = fetch(jwks_uri, timeout=settings.http_timeout)
        self.fetches += 1
        fetched_at = self._wall()
        introspection = self._endpoint(discovery, "introspection_endpoint")
        snapshot = self._snapshot_of(fetched_at, introspection, jwks)
        logger.info("Fetched the signing keys from %s: %d usable (key, algorithm) pair(s)",
                    jwks_uri, len(snapshot.checks))
        if settings.share_keys_in_cache:
            self._share({"fetched_at": fetched_at, "introspection_endpoint": introspection,
                         "jwks": jwks})
        return snapshot

    def _snapshot_of(self, fetched_at: float, introspection: str | None,
                     jwks: Mapping[str, Any]) -> Snapshot:
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise _Unavailable("the key set has no 'keys' list")
        return Snapshot(fetched_at, introspection, build_checks(keys, self._settings.algorithms))

    def _endpoint(self, discovery: Mapping[str, Any], name: str) -> str | None:
        value = discovery.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
            raise _Unavailable(f"the discovery document's {name} is not a URL")
        if self._settings.require_https and not value.startswith("https:"):
            raise _Unavailable(f"the discovery document's {name} is not https")
        return value

    # --- Django's cache, shared by the API's processes ---------------------------------------

    def _shared(self) -> Snapshot | None:
        if not self._settings.share_keys_in_cache:
            return None
        try:
            entry = caches[self._settings.cache_alias].get(self._cache_key)
        except Exception as err:  # a cache that is down must not take authentication down
            logger.warning("Could not read the shared signing keys: %s", err)
            return None
        if not isinstance(entry, dict):
            return None
        try:
            return self._snapshot_of(float(entry["fetched_at"]), entry["introspection_endpoint"],
                                     entry["jwks"])
        except (KeyError, TypeError, ValueError, _Unavailable):
            return None

    def _share(self, entry: dict[str, Any]) -> None:
        try:
            caches[self._settings.cache_alias].set(self._cache_key, entry,
                                                   self._settings.jwks_max_age)
        except Exception as err:
            logger.warning("Could not share the signing keys: %s", err)
