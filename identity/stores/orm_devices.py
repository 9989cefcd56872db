"""Device authorization requests in the database (RFC 8628), shared by every server process.

Every change is one conditional UPDATE of one row, so that concurrent requests (two people
typing the same code, parallel polls after approval) are decided by the database: exactly one
decision and one redemption win.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.crypto import salted_hmac

from identity.domain.device import APPROVED, PENDING, DeviceAuthorization
from identity.models import DeviceFlowCode


def _keyed(user_key: str) -> str:
    # User codes are few (about 2^35): their plain hashes could all be tried against a dump.
    return salted_hmac("identity.device-user-code", user_key, algorithm="sha256").hexdigest()


def _to_domain(row: DeviceFlowCode) -> DeviceAuthorization:
    return DeviceAuthorization(
        device_key=row.device_key, user_key=row.user_key, client_id=row.client_id,
        scopes=tuple(row.scopes), created=row.created, expires=row.expires,
        interval=row.interval, status=row.status, last_polled=row.last_polled,
        subject_id=row.subject_id, session_id=row.session_id, auth_time=row.auth_time,
        amr=tuple(row.amr or ()), granted_scopes=tuple(row.granted_scopes or ()),
        consumed=row.consumed)


class OrmDeviceFlowStore:
    """`DeviceFlowStore` on the `DeviceFlowCode` table."""

    def create(self, record: DeviceAuthorization, now: datetime) -> bool:
        """Insert a request; an expired request holding the same user code gives way."""
        row = DeviceFlowCode(
            device_key=record.device_key, user_key=_keyed(record.user_key),
            client_id=record.client_id,
            scopes=list(record.scopes), created=record.created, expires=record.expires,
            interval=record.interval, status=record.status)
        for _ in range(2):
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                return True
            except IntegrityError:
                # Unique among live codes: a dead request that still holds the code is removed.
                if not DeviceFlowCode.objects.filter(user_key=_keyed(record.user_key),
                                                     expires__lte=now).delete()[0]:
                    return False
        return False

    def by_device_code(self, device_key: str) -> DeviceAuthorization | None:
        """Return the request of a device code's hash (one primary-key read)."""
        row = DeviceFlowCode.objects.filter(pk=device_key).first()
        return _to_domain(row) if row is not None else None

    def by_user_code(self, user_key: str) -> DeviceAuthorization | None:
        """Return the request of a user code's hash."""
        row = DeviceFlowCode.objects.filter(user_key=_keyed(user_key)).first()
        return _to_domain(row) if row is not None else None

    def decide(self, record: DeviceAuthorization, now: datetime) -> bool:
        """Store the decision if the request is still pending and live (first decision wins)."""
        return bool(DeviceFlowCode.objects.filter(
            pk=record.device_key, status=PENDING, expires__gt=now).update(
            status=record.status, subject_id=record.subject_id, session_id=record.session_id,
            auth_time=record.auth_time, amr=list(record.amr),
            granted_scopes=list(record.granted_scopes)))

    def record_poll(self, device_key: str, seen: datetime | None, now: datetime,
                    interval: int) -> bool:
        """Move the last poll from `seen` to `now` (one conditional UPDATE of the row)."""
        last = Q(last_polled__isnull=True) if seen is None else Q(last_polled=seen)
        return bool(DeviceFlowCode.objects.filter(last, pk=device_key).update(
            last_polled=now, interval=interval))

    def consume(self, device_key: str, now: datetime) -> bool:
        """Mark an approved request used: the first caller's UPDATE matches, no other's."""
        return bool(DeviceFlowCode.objects.filter(
            pk=device_key, status=APPROVED, consumed__isnull=True).update(consumed=now))


def delete_expired(now: datetime, batch: int) -> int:
    """Delete up to `batch` expired requests; return how many went."""
    with transaction.atomic():
        keys = list(DeviceFlowCode.objects.filter(expires__lte=now)
                    .values_list("pk", flat=True)[:batch])
        if not keys:
            return 0
        deleted, _ = DeviceFlowCode.objects.filter(pk__in=keys).delete()
    return deleted
