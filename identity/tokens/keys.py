"""The key ring: signing keys created on first use, rotated on schedule, shared through the store.

Each process keeps its decrypted keys in memory (parsing a PEM costs milliseconds, signing with a
loaded key a fraction of one) and re-reads the store every KEY_REFRESH_INTERVAL seconds, as soon
as a known key changes state, and at the next request after any process rotated or revoked a key
(the configuration generation). Spec: RFC 7517 (JWKS); Duende automatic key management.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from identity import clock
from identity.domain.keys import (
    RotationPolicy,
    StoredKey,
    needs_new_key,
    published_keys,
    signing_key,
)
from identity.stores.interfaces import SigningKeyStore
from identity.tokens.key_material import (
    KeyDecryptionError,
    PrivateKey,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    public_jwk,
)

logger = logging.getLogger(__name__)
RELOAD_RETRY = 5  # seconds before a failed reload of the keys is tried again


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """A key ready to sign: its stored form and the loaded private key."""

    stored: StoredKey
    private: PrivateKey

    @property
    def kid(self) -> str:
        return self.stored.kid

    @property
    def algorithm(self) -> str:
        return self.stored.algorithm


class KeyRing:
    """The signing keys of every configured algorithm, as this process sees them."""

    def __init__(self, store: SigningKeyStore, algorithms: list[str], policy: RotationPolicy,
                 secret: str, refresh_interval: float,
                 generation: Callable[[], int] = lambda: 0) -> None:
        if not algorithms:
            raise ValueError("IDENTITY['SIGNING_ALGORITHMS'] must name at least one algorithm")
        self.store = store
        self.algorithms = list(algorithms)
        self.policy = policy
        self._secret = secret
        self._refresh_interval = refresh_interval
        self._generation = generation
        self._read_generation: int | None = None
        self._lock = threading.Lock()
        self._loaded: dict[str, LoadedKey] = {}
        self._keys: dict[str, list[StoredKey]] = {}
        self._read_at = float("-inf")
        self._next_change: datetime | None = None
        self._jwks: dict[str, Any] = {"keys": []}
        self._verification: dict[str, tuple[str, Any]] = {}
        # The key each algorithm signs with, chosen once per reload.
        self._signing: dict[str, LoadedKey] = {}
        self._choice_holds = False

    def signing_key(self, algorithm: str | None = None) -> LoadedKey:
        """Return the key that signs now for `algorithm` (default: the first configured)."""
        now = self._fresh()
        alg = algorithm or self.algorithms[0]
        loaded = self._signing.get(alg)
        if loaded is None:
            chosen = signing_key(self._usable(alg), now)
            if chosen is None:  # pragma: no cover - _fresh() always leaves one usable key
                raise RuntimeError(f"no signing key for {alg}")
            loaded = self._loaded[chosen.kid]
            if self._choice_holds:
                # Until the next reload: _fresh() reloads at the next activation or retirement.
                self._signing[alg] = loaded
        return loaded

    def jwks(self) -> dict[str, Any]:
        """Return the JSON Web Key Set: public halves of announced, signing and retired keys."""
        self._fresh()
        return self._jwks

    def verification_keys(self) -> dict[str, tuple[str, Any]]:
        """Return the published keys as kid -> (alg, public key object), for verifying."""
        self._fresh()
        return self._verification

    def public_keys(self) -> list[StoredKey]:
        """Return the published keys of every algorithm."""
        now = self._fresh()
        return [k for alg in self.algorithms for k in published_keys(self._keys[alg], now)]

    def rotate(self, *, immediately: bool = False) -> list[StoredKey]:
        """Announce a new key for every algorithm now; with `immediately`, it signs at once."""
        with self._lock:
            created = [self._create(alg, self.store.keys(alg), clock.now(), immediately)
                       for alg in self.algorithms]
            self._read_at = float("-inf")
        return created

    def revoke(self, kids: list[str]) -> tuple[list[StoredKey], list[StoredKey]]:
        """Withdraw keys for good: they never sign, are published or verify again.

        Where a revoked key was the one signing, a new key signs at once, so issuance never
        stops. Return the keys revoked now and the keys created in their place. Other processes
        drop the keys at their next request (the store bumps the configuration generation).
        """
        with self._lock:
            now = clock.now()
            before = {alg: self._signing_in_store(alg, now) for alg in self.algorithms}
            revoked = self.store.revoke(kids, now)
            gone = {k.kid for k in revoked}
            for kid in gone:
                self._loaded.pop(kid, None)
            created = [self._create(alg, self.store.keys(alg), now, immediately=True)
                       for alg, key in before.items() if key is not None and key.kid in gone]
            self._read_at = float("-inf")
        return revoked, created

    def _signing_in_store(self, alg: str, now: datetime) -> StoredKey | None:
        keys = self.store.keys(alg)
        self._load(keys)
        return signing_key([k for k in keys if k.kid in self._loaded], now)

    def _fresh(self) -> datetime:
        now = clock.now()
        generation = self._generation()
        if (time.monotonic() - self._read_at < self._refresh_interval
                and (self._next_change is None or now < self._next_change)
                and generation == self._read_generation):
            return now
        with self._lock:
            if time.monotonic() - self._read_at >= self._refresh_interval or (
                    self._next_change is not None and now >= self._next_change) or (
                    generation != self._read_generation):
                try:
                    self._reload(now)
                except Exception:
                    # The key store is down (a database outage): sign with the keys already
                    # loaded and try again shortly, rather than fail every token request. A
                    # process that has no keys yet has nothing to fall back on.
                    if not all(self._usable(alg) for alg in self.algorithms):
                        raise
                    logger.warning("signing keys not reloaded; using the loaded ones",
                                   exc_info=True)
                    self._read_at = time.monotonic() - self._refresh_interval + RELOAD_RETRY
                    self._next_change = None
                    # Without a reload to follow each activation, choose at every signature.
                    self._signing, self._choice_holds = {}, False
                else:
                    self._read_generation = generation
        return now

    def _reload(self, now: datetime) -> None:
        for alg in self.algorithms:
            keys = self.store.keys(alg)
            self._load(keys)
            usable = [k for k in keys if k.kid in self._loaded]
            if signing_key(usable, now) is None:
                # No key, none readable, or none left that may sign (the signing key revoked
                # by a process that stopped before replacing it): a key must sign now.
                self._create(alg, keys, now, immediately=True)
            elif needs_new_key(usable, now, self.policy):
                self._create(alg, keys, now, immediately=False)
            else:
                self._keys[alg] = keys
                continue
            keys = self.store.keys(alg)
            self._load(keys)
            self._keys[alg] = keys
        present = {k.kid for alg in self.algorithms for k in self._keys[alg]
                   if k.revoked_at is None}
        # Deleted and revoked keys leave memory too: only what the store still offers can sign.
        self._loaded = {kid: key for kid, key in self._loaded.items() if kid in present}
        self._read_at = time.monotonic()
        published = [k for alg in self.algorithms for k in published_keys(self._usable(alg), now)]
        self._jwks = {"keys": [k.public_jwk for k in published]}
        self._verification = {k.kid: (k.algorithm, self._loaded[k.kid].private.public_key())
                              for k in published}
        moments = [t for alg in self.algorithms for k in self._keys[alg] if k.revoked_at is None
                   for t in (k.activates_at, k.retires_at, k.expires_at) if t > now]
        self._next_change = min(moments) if moments else None
        self._signing, self._choice_holds = {}, True

    def _usable(self, alg: str) -> list[StoredKey]:
        return [k for k in self._keys.get(alg, []) if k.kid in self._loaded]

    def _load(self, keys: list[StoredKey]) -> None:
        for key in keys:
            if key.revoked_at is not None:
                self._loaded.pop(key.kid, None)  # withdrawn: not even kept in memory
                continue
            if key.kid in self._loaded:
                continue
            try:
                self._loaded[key.kid] = LoadedKey(key, decrypt_private_key(key.private_key,
                                                                           self._secret))
            except KeyDecryptionError as exc:
                logger.error("signing key %s skipped: %s", key.kid, exc)

    def _create(self, alg: str, existing: list[StoredKey], now: datetime,
                immediately: bool) -> StoredKey:
        private = generate_private_key(alg)
        jwk = public_jwk(private, alg)
        activates, retires, expires = self.policy.schedule(now, immediately=immediately)
        key = StoredKey(
            kid=jwk["kid"], algorithm=alg,
            generation=max((k.generation for k in existing), default=0) + 1,
            private_key=encrypt_private_key(private, self._secret), public_jwk=jwk,
            created=now, activates_at=activates, retires_at=retires, expires_at=expires)
        if self.store.add(key):
            logger.info("signing key %s (%s) created, signs from %s", key.kid, alg, activates)
            self._loaded[key.kid] = LoadedKey(key, private)
        return key
