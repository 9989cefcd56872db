"""Server-side sign-in sessions in the database: started at sign-in, renewed by activity, ended
by sign-out, by the user elsewhere, by an administrator or by expiry.

Ending is `take`: the rows are locked, read and deleted in one transaction, so that of two
processes ending the same session (a sign-out racing the cleanup command) exactly one gets it
back, and only that one sends its logout notifications.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from identity.domain.grants import GRANT_REFERENCE_TOKEN, GRANT_REFRESH_TOKEN
from identity.models import PersistedGrant, ServerSideSession, ServerSideSessionClient

USER_AGENT_KEPT = 200  # characters of the User-Agent header shown on the sessions lists


@dataclass(frozen=True, slots=True)
class EndedSession:
    """A session just ended: whom to tell, under which sid and issuer."""

    session_id: str
    user_id: str
    issuer: str
    client_ids: tuple[str, ...]


def expiry(created: datetime, renewed: datetime, lifetime: int | None,
           idle_timeout: int | None) -> datetime | None:
    """Return when a session ends: `lifetime` after its start or `idle_timeout` after its last
    activity, whichever comes first; None when neither is set."""
    ends = [created + timedelta(seconds=lifetime)] if lifetime else []
    if idle_timeout:
        ends.append(renewed + timedelta(seconds=idle_timeout))
    return min(ends) if ends else None


def start(session_id: str, user_id: int | str, issuer: str, user_agent: str, created: datetime,
          now: datetime, expires: datetime | None,
          client_ids: Iterable[str] = ()) -> ServerSideSession:
    """Record a session that started at `created` and was last active `now`."""
    with transaction.atomic():
        row = ServerSideSession.objects.create(
            session_id=session_id, user_id=user_id, issuer=issuer,
            user_agent=user_agent[:USER_AGENT_KEPT], created=created, renewed=now,
            expires=expires)
        ServerSideSessionClient.objects.bulk_create(
            [ServerSideSessionClient(session=row, client_id=c) for c in dict.fromkeys(client_ids)])
    return row


def find(session_id: str) -> ServerSideSession | None:
    """Return the session with this sid, or None when it ended (or never was)."""
    return ServerSideSession.objects.filter(session_id=session_id).first()


def renew(row: ServerSideSession, now: datetime, expires: datetime | None) -> None:
    """Record activity: one UPDATE, guarded so that a session ended meanwhile stays ended."""
    ServerSideSession.objects.filter(pk=row.pk).update(renewed=now, expires=expires)


def add_client(session_id: str, client_id: str) -> None:
    """Note that the user signed in to a client during the session (a no-op when known)."""
    row_id = ServerSideSession.objects.filter(session_id=session_id).values_list(
        "pk", flat=True).first()
    if row_id is None:
        return
    try:
        with transaction.atomic():  # a savepoint: a concurrent insert of the same pair is fine
            ServerSideSessionClient.objects.get_or_create(session_id=row_id, client_id=client_id)
    except IntegrityError:
        pass


def take(sessions: QuerySet[ServerSideSession]) -> list[EndedSession]:
    """End the sessions selected: delete them and return what they were, only those this call
    deleted (another process ending the same ones at the same time gets the rest)."""
    with transaction.atomic():
        rows = list(sessions.select_for_update().order_by("pk"))
        if not rows:
            return []
        clients: dict[int, list[str]] = {}
        for session_pk, client_id in ServerSideSessionClient.objects.filter(
                session__in=[r.pk for r in rows]).order_by("pk").values_list(
                "session_id", "client_id"):
            clients.setdefault(session_pk, []).append(client_id)
        ServerSideSession.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return [EndedSession(session_id=r.session_id, user_id=str(r.user_id), issuer=r.issuer,
                         client_ids=tuple(clients.get(r.pk, ()))) for r in rows]


def by_sid(session_id: str) -> QuerySet[ServerSideSession]:
    return ServerSideSession.objects.filter(session_id=session_id)


def of_user(user_id: int | str) -> QuerySet[ServerSideSession]:
    return ServerSideSession.objects.filter(user_id=user_id)


def expired(now: datetime, lifetime: int | None,
            idle_timeout: int | None) -> QuerySet[ServerSideSession]:
    """Select the sessions past their end under the lifetimes in force now (the stored
    `expires` is what they were when the session was last renewed)."""
    match = Q()
    if lifetime:
        match |= Q(created__lte=now - timedelta(seconds=lifetime))
    if idle_timeout:
        match |= Q(renewed__lte=now - timedelta(seconds=idle_timeout))
    if not match:
        return ServerSideSession.objects.none()
    return ServerSideSession.objects.filter(match)


def revoke_session_tokens(ended: Iterable[EndedSession]) -> int:
    """Delete the refresh and reference tokens issued in these sessions; return how many."""
    match = Q()
    for session in ended:
        match |= Q(subject_id=session.user_id, session_id=session.session_id)
    if not match:
        return 0
    deleted, _ = PersistedGrant.objects.filter(
        match, type__in=(GRANT_REFRESH_TOKEN, GRANT_REFERENCE_TOKEN)).delete()
    return deleted
