"""The user's sign-in session, kept in Django's session: auth time, session id, clients used."""

from __future__ import annotations

import secrets
import time
from functools import wraps
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.shortcuts import resolve_url

from identity.domain.requests import UserSession

AUTH_TIME = "identity.auth_time"
SESSION_ID = "identity.sid"
AMR = "identity.amr"
CLIENTS = "identity.clients"
CONSENTED = "identity.consented"


def record_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Start a sign-in session: when, how, and a fresh session id (OIDC `sid`)."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[AUTH_TIME] = int(time.time())
    request.session[SESSION_ID] = secrets.token_urlsafe(16)
    request.session[AMR] = ["pwd"]
    request.session[CLIENTS] = []


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


def session_clients(http: HttpRequest) -> list[str]:
    """Return the clients the user signed in to during this session."""
    return list(http.session.get(CLIENTS, []))


def grant_one_time_consent(http: HttpRequest, client_id: str, scopes: tuple[str, ...]) -> None:
    """Record a consent given for the next authorization of this client only."""
    consented = dict(http.session.get(CONSENTED, {}))
    consented[client_id] = list(scopes)
    http.session[CONSENTED] = consented


def take_one_time_consent(http: HttpRequest, client_id: str, scopes: tuple[str, ...]) -> bool:
    """Use up a one-time consent covering `scopes`, if there is one."""
    consented = dict(http.session.get(CONSENTED, {}))
    given = consented.get(client_id)
    if given is None or not set(scopes) <= set(given):
        return False
    del consented[client_id]
    http.session[CONSENTED] = consented
    return True


def has_one_time_consent(http: HttpRequest, client_id: str, scopes: tuple[str, ...]) -> bool:
    """Tell whether a one-time consent covers `scopes`, without using it up."""
    given = http.session.get(CONSENTED, {}).get(client_id)
    return given is not None and set(scopes) <= set(given)


def signed_in_required(view: Any) -> Any:
    """Send anonymous users to IDENTITY['LOGIN_URL'] (not settings.LOGIN_URL), then back."""

    @wraps(view)
    def wrapper(http: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(http, "user", None) is not None and http.user.is_authenticated:
            return view(http, *args, **kwargs)
        from identity.conf import identity_settings  # local: settings may change in tests

        return redirect_to_login(http.get_full_path(), resolve_url(identity_settings.LOGIN_URL))

    return wrapper
