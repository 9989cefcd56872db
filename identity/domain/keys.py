"""Signing keys as stored, and the rotation schedule (Duende automatic key management).

A revoked key (withdrawn after a compromise) is out of every schedule at once: it never signs,
is not published and verifies nothing, whatever its dates say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as the store holds it: the private half encrypted."""

    kid: str
    algorithm: str
    generation: int
    private_key: str
    public_jwk: dict[str, Any]
    created: datetime
    activates_at: datetime
    retires_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """Return revoked, announced, signing, retired or expired."""
        if self.revoked_at is not None:
            return "revoked"
        if now < self.activates_at:
            return "announced"
        if now < self.retires_at:
            return "signing"
        return "retired" if now < self.expires_at else "expired"


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    """Rotation timings, in seconds."""

    rotation_interval: int
    propagation_time: int
    retention: int

    def schedule(self, created: datetime, *, immediately: bool) -> tuple[datetime, ...]:
        """Return (activates_at, retires_at, expires_at) of a key created at `created`."""
        activates = created if immediately else created + timedelta(seconds=self.propagation_time)
        retires = max(created + timedelta(seconds=self.rotation_interval),
                      activates + timedelta(seconds=self.propagation_time))
        return activates, retires, retires + timedelta(seconds=self.retention)


def signing_key(keys: list[StoredKey], now: datetime) -> StoredKey | None:
    """Choose the key that signs now: the latest activated key not retired, else the newest
    key that is not retired yet (a first key signs at once). Revoked keys never sign."""
    live = [k for k in keys if now < k.retires_at and k.revoked_at is None]
    active = [k for k in live if k.activates_at <= now]
    pool = active or live
    return max(pool, key=lambda k: (k.activates_at, k.generation)) if pool else None


def needs_new_key(keys: list[StoredKey], now: datetime, policy: RotationPolicy) -> bool:
    """Tell whether a successor must be announced now, so that it is published
    `propagation_time` before the current key retires."""
    current = signing_key(keys, now)
    if current is None:
        return True
    if any(k.activates_at > now and k.generation > current.generation and k.revoked_at is None
           for k in keys):
        return False
    return current.retires_at - now <= timedelta(seconds=policy.propagation_time)


def published_keys(keys: list[StoredKey], now: datetime) -> list[StoredKey]:
    """Return the keys the JWKS shows, and verifies with: announced, signing and recently
    retired ones, never revoked ones."""
    return [k for k in keys if now < k.expires_at and k.revoked_at is None]
