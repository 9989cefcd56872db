"""The user's sign-in session, kept in Django's session: auth time, session id, clients used."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, Final

from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url

from identity import clock
from identity.domain.requests import SignInRequirement, UserSession
from identity.stores import orm_sessions

AUTH_TIME = "identity.auth_time"
SESSION_ID = "identity.sid"
AMR = "identity.amr"
CLIENTS = "identity.clients"
CONSENTED = "identity.consented"
USED_SIGN_INS = "identity.used_sign_ins"
# Set once the session has its server-side row (identity.http.server_side_sessions).
SERVER_SIDE = "identity.server_side"

# Sign-in tickets used for a code, remembered so that a replayed return URL asks again; older
# ones fall off, and a ticket expires after its lifetime anyway.
USED_SIGN_INS_KEPT: Final = 10
# Seconds a sign-in ticket stays valid: the time a person may take on the login page.
SIGN_IN_TICKET_LIFETIME: Final = 3600
_TICKET_SALT: Final = "identity.sign-in-ticket"


def record_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Start a sign-in session: when, how, a fresh session id (OIDC `sid`), and its row in
    the database. Signing in again as the same user replaces the session, clients kept."""
    if request is None or not hasattr(request, "session"):
        return
    from identity.http import server_side_sessions  # local: it builds on this module

    clients: tuple[str, ...] = ()
    earlier = request.session.get(SESSION_ID)
    if earlier and request.session.get(SERVER_SIDE):
        # Replaced, not ended: the same person in the same browser, so no logout is due.
        replaced = orm_sessions.take(orm_sessions.by_sid(str(earlier)))
        clients = replaced[0].client_ids if replaced else ()
    request.session[AUTH_TIME] = clock.timestamp()
    request.session[SESSION_ID] = secrets.token_urlsafe(16)
    request.session[AMR] = ["pwd"]
    request.session[CLIENTS] = list(clients)
    server_side_sessions.start(request, user, request.session[SESSION_ID], client_ids=clients)


user_logged_in.connect(record_login, dispatch_uid="identity-record-login")


def current_session(http: HttpRequest) -> UserSession | None:
    """Return the signed-in user's session, or None."""
    user = getattr(http, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if SESSION_ID not in http.session:  # signed in before this app recorded sessions
        return None
    return UserSession(subject_id=str(user.pk), auth_time=int(http.session[AUTH_TIME]),
                       session_id=str(http.session[SESSION_ID]),
                       amr=tuple(http.session.get(AMR, ["pwd"])))


def remember_client(http: HttpRequest, client_id: str) -> None:
    """Note that the user signed in to a client during this session (front-channel logout)."""
    clients = list(http.session.get(CLIENTS, []))
    if client_id not in clients:
        clients.append(client_id)
        http.session[CLIENTS] = clients
        if http.session.get(SERVER_SIDE):
            orm_sessions.add_client(str(http.session[SESSION_ID]), client_id)


def session_clients(http: HttpRequest) -> list[str]:
    """Return the clients the user signed in to during this session."""
    return list(http.session.get(CLIENTS, []))


def grant_one_time_consent(http: HttpRequest, client_id: str, asked: tuple[str, ...],
                           granted: tuple[str, ...]) -> None:
    """Record a consent given for the next authorization of this client only: the scopes the
    request asked for, and those the person granted (all or some of them)."""
    consented = dict(http.session.get(CONSENTED, {}))
    consented[client_id] = {"asked": list(asked), "granted": list(granted)}
    http.session[CONSENTED] = consented


def _one_time_consent(http: HttpRequest, client_id: str,
                      scopes: tuple[str, ...]) -> tuple[str, ...] | None:
    given = http.session.get(CONSENTED, {}).get(client_id)
    if isinstance(given, list):  # recorded before consent could be partial: all was granted
        given = {"asked": given, "granted": given}
    if not isinstance(given, dict) or not set(scopes) <= set(given.get("asked", ())):
        return None
    return tuple(given.get("granted", ()))


def take_one_time_consent(http: HttpRequest, client_id: str,
                          scopes: tuple[str, ...]) -> tuple[str, ...] | None:
    """Use up a one-time consent given to a request for `scopes`; return the scopes granted,
    or None when there is no such consent."""
    granted = _one_time_consent(http, client_id, scopes)
    if granted is not None:
        consented = dict(http.session.get(CONSENTED, {}))
        del consented[client_id]
        http.session[CONSENTED] = consented
    return granted


def has_one_time_consent(http: HttpRequest, client_id: str, scopes: tuple[str, ...]) -> bool:
    """Tell whether a one-time consent answers a request for `scopes`, without using it up."""
    return _one_time_consent(http, client_id, scopes) is not None


def issue_sign_in_ticket(requirement: SignInRequirement) -> str:
    """Return the signed ticket naming `requirement`, for the login page's return URL."""
    # Signed, not kept in the session: Django starts a new session when another user signs
    # in (prompt=select_account), and the requirement must survive that.
    return signing.dumps([requirement.ticket_id, requirement.issued_at,
                          requirement.stale_session, requirement.request_digest],
                         salt=_TICKET_SALT)


def read_sign_in_ticket(value: str | None) -> SignInRequirement | None:
    """Return the requirement a ticket names, or None when it is absent, forged or expired."""
    if not value:
        return None
    try:
        fields = signing.loads(value, salt=_TICKET_SALT, max_age=SIGN_IN_TICKET_LIFETIME)
    except signing.BadSignature:  # SignatureExpired too
        return None
    ticket_id, issued_at, stale_session, digest = fields
    return SignInRequirement(ticket_id=str(ticket_id), issued_at=int(issued_at),
                             stale_session=str(stale_session), request_digest=str(digest))


def used_sign_in_tickets(http: HttpRequest) -> list[str]:
    """Return the ids of the sign-in tickets a code was already issued for."""
    return list(http.session.get(USED_SIGN_INS, []))


def use_sign_in_ticket(http: HttpRequest, ticket_id: str) -> None:
    """Record that a code was issued for this ticket: the same return URL asks again."""
    used = [t for t in used_sign_in_tickets(http) if t != ticket_id] + [ticket_id]
    http.session[USED_SIGN_INS] = used[-USED_SIGN_INS_KEPT:]


def signed_in_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Send anonymous users to IDENTITY['LOGIN_URL'] (not settings.LOGIN_URL), then back."""

    @wraps(view)
    def wrapper(http: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(http, "user", None) is not None and http.user.is_authenticated:
            return view(http, *args, **kwargs)
        from identity.conf import identity_settings  # local: settings may change in tests

        return redirect_to_login(http.get_full_path(), resolve_url(identity_settings.LOGIN_URL))

    return wrapper
