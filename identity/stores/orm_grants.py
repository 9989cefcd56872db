"""Persisted grants and consents in the database (identity owns operational data)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import connections, router, transaction
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from identity.domain.grants import GRANT_ISSUED_JTI, GRANT_REVOKED_JTI, Consent, PersistedGrant
from identity.grants.records import deny_list_entry, issued_jwt_data
from identity.models import Consent as ConsentRow
from identity.models import PersistedGrant as GrantRow
from identity.models import column

_GRANT_FIELDS = tuple(f.name for f in dataclasses.fields(PersistedGrant))


def _deny_issued(rows: QuerySet[GrantRow]) -> None:
    """Put the JWT access tokens recorded among `rows` on the deny list until they expire."""
    for row in rows.filter(type=GRANT_ISSUED_JTI):
        # The record names the token by its jti, or "sha256:<digest>" when it has none.
        issued = issued_jwt_data(row.data)
        entry = deny_list_entry(issued.jti, issued.exp, row.client_id, row.subject_id,
                                row.created)
        GrantRow.objects.update_or_create(
            key=entry.key, defaults={f: getattr(entry, f) for f in _GRANT_FIELDS if f != "key"})


@functools.cache
def _select_sql(vendor: str, quote: Callable[[str], str]) -> str:
    columns = ", ".join(quote(column(GrantRow, f)) for f in _GRANT_FIELDS)
    return (f"SELECT {columns} FROM {quote(GrantRow._meta.db_table)} "
            f"WHERE {quote(column(GrantRow, 'pk'))} = %s")


def _datetime(value: Any) -> datetime | None:
    # SQLite hands back text in UTC; PostgreSQL aware datetimes.
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:  # pragma: no cover - Django wrote the column
        raise ValueError(f"unreadable timestamp {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class OrmPersistedGrantStore:
    """Codes and refresh tokens, with atomic one-time consumption."""

    def store(self, grant: PersistedGrant) -> None:
        """Save a new grant; recording an issued JWT that is already recorded does nothing."""
        values = {f: getattr(grant, f) for f in _GRANT_FIELDS}
        if grant.type == GRANT_ISSUED_JTI:
            # Tokens without jti issued in the same second for the same session are the same
            # bytes, hence the same record; ON CONFLICT DO NOTHING keeps the transaction usable.
            GrantRow.objects.bulk_create([GrantRow(**values)], ignore_conflicts=True)
        else:
            GrantRow.objects.create(**values)

    def get(self, key: str) -> PersistedGrant | None:
        """Return the grant stored under `key`, or None.

        One prepared SELECT by primary key: on the introspection and refresh paths the ORM's
        query building cost more than the query itself.
        """
        connection = connections[router.db_for_read(GrantRow)]
        with connection.cursor() as cursor:
            cursor.execute(_select_sql(connection.vendor, connection.ops.quote_name), [key])
            row = cursor.fetchone()
        if row is None:
            return None
        values = dict(zip(_GRANT_FIELDS, row, strict=True))
        for name in ("created", "expires", "consumed"):
            values[name] = _datetime(values[name])
        if isinstance(values["data"], str | bytes):
            values["data"] = json.loads(values["data"])
        return PersistedGrant(**values)

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
        """Revoke a family (a replayed code, a reused refresh chain): delete its grants, and put
        the JWT access tokens issued in it on the deny list until they expire."""
        with transaction.atomic():
            _deny_issued(GrantRow.objects.filter(family=family))
            deleted, _ = GrantRow.objects.filter(family=family).delete()
        return deleted

    def remove(self, key: str) -> None:
        """Delete one grant."""
        GrantRow.objects.filter(key=key).delete()

    def remove_all(self, subject_id: str, client_id: str) -> int:
        """Delete every grant of a user for a client (consent revoked)."""
        # Deny-list entries stay: deleting them would bring revoked JWTs back to life.
        rows = GrantRow.objects.filter(subject_id=subject_id, client_id=client_id)
        with transaction.atomic():
            _deny_issued(rows)
            deleted, _ = rows.exclude(type=GRANT_REVOKED_JTI).delete()
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


def revoke_grants(rows: QuerySet[GrantRow]) -> int:
    """Revoke grants (the admin's action and the management API): each with its family (the
    grants issued from it and beside it), the JWT access tokens issued in those families put on
    the deny list. Return how many grants were deleted.

    Deny-list entries among `rows` are kept: deleting one would accept its JWT again. Families are
    revoked before the grants themselves, so that a chosen record of an issued JWT is still there
    to put that JWT on the deny list.
    """
    live = rows.exclude(type=GRANT_REVOKED_JTI)
    keys = list(live.values_list("key", flat=True))
    families = set(live.exclude(family="").values_list("family", flat=True)) | set(keys)
    store = OrmPersistedGrantStore()  # the rows listed here, whatever GRANT_STORE names
    count = sum(store.remove_family(family) for family in sorted(families))
    count += GrantRow.objects.filter(key__in=keys).count()
    for key in keys:
        store.remove(key)
    return count


def forget_client(client_id: str) -> tuple[int, int]:
    """Delete what a deleted client held: its grants (codes, refresh and reference tokens, JWT
    records) and its users' consents; return how many of each.

    Deny-list entries stay until they expire: were a client of the same id created again, the
    JWTs revoked before must stay revoked.
    """
    grants, _ = GrantRow.objects.filter(client_id=client_id).exclude(
        type=GRANT_REVOKED_JTI).delete()
    consents, _ = ConsentRow.objects.filter(client_id=client_id).delete()
    return grants, consents
