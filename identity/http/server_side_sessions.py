"""Server-side sessions: every sign-in session has a row in the database (identity.models.
ServerSideSession) that the browser's Django session names by its sid.

- Sign-in starts the row; signing in to a client adds the client to it.
- Every request of a signed-in browser checks the row (ServerSideSessionMiddleware): when it is
  gone (ended by an administrator, by the user elsewhere) or past its lifetime, the browser is
  signed out there and then, on whichever node the request lands. Activity renews it, at most
  once a minute.
- Every end goes through `end`: the row is taken (deleted by exactly one process), the
  session's clients get back-channel logouts, and with SESSION_END_REVOKES_REFRESH_TOKENS the
  refresh and reference tokens issued in it are revoked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_out
from django.core.exceptions import DisallowedHost
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from identity import clock
from identity.conf import identity_settings
from identity.http import back_channel_logout
from identity.http import session as sessions
from identity.http.issuer import get_issuer
from identity.models import ServerSideSession
from identity.stores import orm_sessions
from identity.stores.orm_sessions import EndedSession

logger = logging.getLogger(__name__)
# Seconds between two writes of a session's last activity (never on every request).
RENEW_INTERVAL: Final = 60
# Set on a request whose session the middleware found expired, for the sign-out receiver.
_EXPIRED: Final = "_identity_session_expired"


def lifetimes() -> tuple[int | None, int | None]:
    """Return (SESSION_LIFETIME, SESSION_IDLE_TIMEOUT) in seconds, None where off."""
    return (identity_settings.SESSION_LIFETIME or None,
            identity_settings.SESSION_IDLE_TIMEOUT or None)


def _issuer(http: HttpRequest) -> str:
    try:
        return get_issuer(http)
    except (KeyError, DisallowedHost):  # a request made up by code (the test client's login)
        return ""


def start(http: HttpRequest, user: Any, session_id: str, created: datetime | None = None,
          client_ids: tuple[str, ...] = ()) -> None:
    """Record the browser's sign-in session server side and mark its Django session so."""
    now = clock.now()
    created = created or now
    orm_sessions.start(session_id, user.pk, _issuer(http), http.META.get("HTTP_USER_AGENT", ""),
                       created, now, orm_sessions.expiry(created, now, *lifetimes()), client_ids)
    http.session[sessions.SERVER_SIDE] = True


def renew_interval() -> timedelta:
    _, idle = lifetimes()
    return timedelta(seconds=min(RENEW_INTERVAL, idle / 10) if idle else RENEW_INTERVAL)


def is_expired(row: ServerSideSession, now: datetime) -> bool:
    ends = orm_sessions.expiry(row.created, row.renewed, *lifetimes())
    return ends is not None and ends <= now


def end(selected: QuerySet[ServerSideSession], *, expired: bool = False,
        fallback_issuer: str = "") -> list[EndedSession]:
    """End the sessions selected and tell their clients; return those this call ended.

    The browsers holding them are signed out at their next request. `expired`: they end by
    expiry, which sends back-channel logouts only with
    EXPIRED_SESSIONS_TRIGGER_BACK_CHANNEL_LOGOUT."""
    ended = orm_sessions.take(selected)
    _finish(ended, expired=expired, fallback_issuer=fallback_issuer)
    return ended


def _finish(ended: list[EndedSession], *, expired: bool, fallback_issuer: str) -> None:
    if not ended:
        return
    if identity_settings.SESSION_END_REVOKES_REFRESH_TOKENS:
        revoked = orm_sessions.revoke_session_tokens(ended)
        logger.info("%d tokens of %d ended sessions revoked", revoked, len(ended))
    if expired and not identity_settings.EXPIRED_SESSIONS_TRIGGER_BACK_CHANNEL_LOGOUT:
        return
    logouts = []
    for session in ended:
        issuer = session.issuer or fallback_issuer or str(identity_settings.ISSUER or "")
        if not issuer:  # only for sessions made up by code, never by a browser's sign-in
            logger.warning("no issuer known for an ended session; no back-channel logout sent")
            continue
        logouts.extend(back_channel_logout.logouts_for(replace(session, issuer=issuer)))
    back_channel_logout.send(logouts)


def signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On `logout()`, end the browser's server-side session (if nobody ended it already)."""
    if request is None or user is None or not hasattr(request, "session"):
        return
    sid = request.session.get(sessions.SESSION_ID)
    if not sid:
        return
    try:
        if request.session.get(sessions.SERVER_SIDE):
            ended = orm_sessions.take(orm_sessions.by_sid(str(sid)))
            # Found expired by the middleware: an expiry, as when the cleanup command finds it.
            expired = bool(getattr(request, _EXPIRED, False))
        else:  # signed in before sessions were kept server side: the browser knows the clients
            ended = [EndedSession(str(sid), str(user.pk), _issuer(request),
                                  tuple(sessions.session_clients(request)))]
            expired = False
        _finish(ended, expired=expired, fallback_issuer=_issuer(request))
    except Exception:  # the person is signed out regardless; the failure is for operators
        logger.exception("ending the server-side session failed")


user_logged_out.connect(signed_out, dispatch_uid="identity-server-side-session-end")


class ServerSideSessionMiddleware:
    """Sign a browser out when its server-side session ended or expired; record its activity.

    Goes after AuthenticationMiddleware. Costs one indexed read per request of a signed-in
    browser and one write a minute; requests without a session cookie (token, introspection,
    JWKS) are not touched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "session"):
            check(request)
        return self.get_response(request)


def check(http: HttpRequest) -> None:
    """Apply the server-side state of the browser's sign-in session to this request."""
    sid = http.session.get(sessions.SESSION_ID)
    if not sid:
        return
    user = getattr(http, "user", None)
    if user is None or not user.is_authenticated:
        return
    if not http.session.get(sessions.SERVER_SIDE):
        # Signed in before sessions were kept server side: keep it, from its sign-in time.
        auth_time = http.session.get(sessions.AUTH_TIME)
        created = datetime.fromtimestamp(int(auth_time), UTC) if auth_time else None
        start(http, user, str(sid), created, tuple(sessions.session_clients(http)))
        return
    row = orm_sessions.find(str(sid))
    now = clock.now()
    if row is None or str(row.user_id) != str(user.pk):
        logout(http)  # ended elsewhere, and whoever ended it told the clients
        return
    if is_expired(row, now):
        setattr(http, _EXPIRED, True)
        logout(http)  # ends the row and, as configured, sends the logouts
        return
    if now - row.renewed >= renew_interval():
        orm_sessions.renew(row, now, orm_sessions.expiry(row.created, now, *lifetimes()))
