"""Signing keys in the database, shared by every server process and host."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.db import IntegrityError, transaction

from identity.domain.keys import StoredKey
from identity.freshness import configuration_changed
from identity.models import SigningKey

_FIELDS = ("kid", "algorithm", "generation", "private_key", "public_jwk", "created",
           "activates_at", "retires_at", "expires_at", "revoked_at")


class OrmSigningKeyStore:
    """Read, add, revoke and delete signing keys."""

    def keys(self, algorithm: str) -> list[StoredKey]:
        """Return every stored key of one algorithm."""
        rows = SigningKey.objects.filter(algorithm=algorithm).values(*_FIELDS)
        return [StoredKey(**row) for row in rows]

    def add(self, key: StoredKey) -> bool:
        """Store a key; False when another process stored that generation first."""
        try:
            with transaction.atomic():
                SigningKey.objects.create(**{f: getattr(key, f) for f in _FIELDS})
                configuration_changed()  # every process sees the new key at its next request
        except IntegrityError:
            return False
        return True

    def revoke(self, kids: list[str], at: datetime) -> list[StoredKey]:
        """Mark the keys revoked at `at`; return those that were not revoked already."""
        with transaction.atomic():
            rows = SigningKey.objects.select_for_update().filter(kid__in=kids,
                                                                 revoked_at__isnull=True)
            found = [StoredKey(**row) for row in rows.values(*_FIELDS)]
            if found:
                SigningKey.objects.filter(kid__in=[k.kid for k in found]).update(revoked_at=at)
                # Every process drops the keys at its next request, not at its next refresh.
                configuration_changed()
        return [replace(k, revoked_at=at) for k in found]

    def delete_expired(self, now: datetime) -> int:
        """Delete keys that left the JWKS (revoked ones too, once they would have expired)."""
        # No configuration_changed(): these keys are neither published nor used any more, so no
        # process needs to reload for them.
        deleted, _ = SigningKey.objects.filter(expires_at__lte=now).delete()
        return deleted
