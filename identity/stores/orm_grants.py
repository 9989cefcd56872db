"""Persisted grants and consents in the database (identity owns operational data)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from identity.domain.grants import Consent, PersistedGrant
from identity.models import Consent as ConsentRow
from identity.models import PersistedGrant as GrantRow

_GRANT_FIELDS = tuple(f.name for f in dataclasses.fields(PersistedGrant))


def _grant(row: GrantRow) -> PersistedGrant:
    return PersistedGrant(**{f: getattr(row, f) for f in _GRANT_FIELDS})


class OrmPersistedGrantStore:
    """Codes and refresh tokens, with atomic one-time consumption."""

    def store(self, grant: PersistedGrant) -> None:
        """Save a new grant."""
        GrantRow.objects.create(**{f: getattr(grant, f) for f in _GRANT_FIELDS})

    def get(self, key: str) -> PersistedGrant | None:
        """Return the grant stored under `key`, or None."""
        row = GrantRow.objects.filter(key=key).first()
        return _grant(row) if row is not None else None

    def consume(self, key: str, now: datetime) -> bool:
        """Mark the grant consumed; True only for the one caller that did it first.

        A conditional UPDATE is atomic in every database: of N concurrent callers, one sees a
        row count of 1.
        """
        return GrantRow.objects.filter(key=key, consumed__isnull=True).update(consumed=now) == 1

    def set_expiration(self, key: str, expires: datetime | None) -> None:
        """Move a grant's expiration (sliding refresh tokens)."""
        GrantRow.objects.filter(key=key).update(expires=expires)

    def remove_family(self, family: str) -> int:
        """Delete every grant of a family (tokens of a replayed code, a reused refresh chain)."""
        deleted, _ = GrantRow.objects.filter(family=family).delete()
        return deleted

    def remove(self, key: str) -> None:
        """Delete one grant."""
        GrantRow.objects.filter(key=key).delete()

    def remove_all(self, subject_id: str, client_id: str) -> int:
        """Delete every grant of a user for a client (consent revoked)."""
        deleted, _ = GrantRow.objects.filter(subject_id=subject_id, client_id=client_id).delete()
        return deleted


class OrmConsentStore:
    """Remembered consents, one per user and client."""

    def get(self, subject_id: str, client_id: str) -> Consent | None:
        """Return the user's consent for the client, or None."""
        row = ConsentRow.objects.filter(subject_id=subject_id, client_id=client_id).first()
        if row is None:
            return None
        return Consent(row.subject_id, row.client_id, tuple(row.scopes), row.created, row.expires)

    def save(self, consent: Consent) -> None:
        """Create or replace the user's consent for the client."""
        ConsentRow.objects.update_or_create(
            subject_id=consent.subject_id, client_id=consent.client_id,
            defaults={"scopes": list(consent.scopes), "created": consent.created,
                      "expires": consent.expires})

    def remove(self, subject_id: str, client_id: str) -> None:
        """Forget the user's consent for the client."""
        ConsentRow.objects.filter(subject_id=subject_id, client_id=client_id).delete()

    def for_subject(self, subject_id: str) -> Iterable[Consent]:
        """Return every consent of a user."""
        return [Consent(r.subject_id, r.client_id, tuple(r.scopes), r.created, r.expires)
                for r in ConsentRow.objects.filter(subject_id=subject_id).order_by("client_id")]
