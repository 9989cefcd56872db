"""Back-channel logouts waiting to be sent again, in the database.

Spec: OpenID Connect Back-Channel Logout 1.0 §2.8 (the OP may retry a failed delivery).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from identity.models import BackChannelLogout

MAX_ERROR: int = 500  # characters of last_error (its column)


@dataclass(frozen=True, slots=True)
class PendingLogout:
    """What sending one logout notification needs; the token is minted again from it."""

    client_id: str
    uri: str
    issuer: str
    subject: str
    session_id: str | None
    attempts: int = 0
    pk: int = 0  # 0 until kept in the database


def record_failures(failed: list[tuple[PendingLogout, str]], now: datetime,
                    next_attempt_at: datetime) -> None:
    """Keep failed first deliveries, with their error, for the retry command."""
    with transaction.atomic():
        BackChannelLogout.objects.bulk_create([
            BackChannelLogout(client_id=p.client_id, uri=p.uri, issuer=p.issuer,
                              subject=p.subject, session_id=p.session_id or "", created=now,
                              attempts=1, next_attempt_at=next_attempt_at,
                              last_error=error[:MAX_ERROR])
            for p, error in failed])


def due_logouts(now: datetime, limit: int) -> list[PendingLogout]:
    """Return up to `limit` logouts whose next attempt is due, oldest first."""
    rows = BackChannelLogout.objects.filter(next_attempt_at__lte=now)[:limit]
    return [PendingLogout(client_id=r.client_id, uri=r.uri, issuer=r.issuer,
                          subject=r.subject, session_id=r.session_id or None,
                          attempts=r.attempts, pk=r.pk) for r in rows]


def claim(pending: PendingLogout, now: datetime, lease: timedelta) -> bool:
    """Push the row's next attempt past `lease`, so that another runner skips it; False when
    someone else sent or claimed it first."""
    return BackChannelLogout.objects.filter(
        pk=pending.pk, attempts=pending.attempts, next_attempt_at__lte=now,
    ).update(next_attempt_at=now + lease) == 1


def record_retry(pending: PendingLogout, error: str | None,
                 next_attempt_at: datetime | None) -> None:
    """Forget a delivered logout or one given up on (`next_attempt_at` None); else keep the
    error and the time of the next attempt."""
    rows = BackChannelLogout.objects.filter(pk=pending.pk)
    if error is None or next_attempt_at is None:
        rows.delete()
    else:
        rows.update(attempts=pending.attempts + 1, next_attempt_at=next_attempt_at,
                    last_error=error[:MAX_ERROR])


def pending_count() -> int:
    """Return how many logouts wait to be sent again."""
    return BackChannelLogout.objects.count()
