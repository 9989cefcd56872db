"""Signing keys in the database, shared by every server process and host."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from identity.domain.keys import StoredKey
from identity.models import SigningKey

_FIELDS = ("kid", "algorithm", "generation", "private_key", "public_jwk", "created",
           "activates_at", "retires_at", "expires_at")


class OrmSigningKeyStore:
    """Read and add signing keys."""

    def keys(self, algorithm: str) -> list[StoredKey]:
        """Return every stored key of one algorithm."""
        rows = SigningKey.objects.filter(algorithm=algorithm).values(*_FIELDS)
        return [StoredKey(**row) for row in rows]

    def add(self, key: StoredKey) -> bool:
        """Store a key; False when another process stored that generation first."""
        try:
            with transaction.atomic():
                SigningKey.objects.create(**{f: getattr(key, f) for f in _FIELDS})
        except IntegrityError:
            return False
        return True

    def delete_expired(self, algorithm: str, kids: list[str]) -> int:
        """Delete keys that left the JWKS."""
        deleted, _ = SigningKey.objects.filter(algorithm=algorithm, kid__in=kids).delete()
        return deleted
