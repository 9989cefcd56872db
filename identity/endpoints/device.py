"""The device verification page: a signed-in person types the code shown on a device, sees what
the device asks for, and approves or denies it.

Spec: RFC 8628 §3.3 (the user visits verification_uri, enters the user code and authorizes;
verification_uri_complete prefills the code, which the user still confirms), §5.1 (wrong codes
are limited: per address and per sign-in session, never per code or client, so that whoever
holds the device can always enter its code), §5.4 (the page names the client, so that a user
who did not start the request can tell). The first person to decide binds the request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from identity import clock
from identity.constants import USER_CODE
from identity.domain.device import APPROVED, DENIED, PENDING, DeviceAuthorization
from identity.domain.requests import UserSession
from identity.endpoints.consent import shown_choice
from identity.errors import OAuthError, TooManyRequests
from identity.http import session as sessions
from identity.http import throttling
from identity.http.branding import branding
from identity.http.csrf import no_referrer_form
from identity.http.frame import answer
from identity.http.rendering import error_page, html_headers
from identity.http.session import signed_in_required
from identity.stores.interfaces import find_enabled_client
from identity.stores.registry import get_client_store, get_device_store, get_resource_store
from identity.validation.consent import choices_for, chosen_scopes
from identity.validation.scopes import resolve_user_scopes
from identity.validation.user_code import user_code_key

WRONG_CODE = gettext_lazy("That code is not valid. Check the code shown on your device and "
                          "try again.")
EXPIRED_CODE = gettext_lazy("That code has expired. Start again on your device to get a new "
                            "one.")
USED_CODE = gettext_lazy("That code has already been used.")
LOCKED = gettext_lazy("Too many wrong codes. Wait a few minutes and try again.")
_MAX_TYPED = 64  # longer than any code, with spaces: not worth a lookup


@no_referrer_form
@signed_in_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters(USER_CODE)
def device_page(http: HttpRequest) -> HttpResponse:
    """Ask for the user code (prefilled from ?user_code=), confirm it, record the decision."""

    def page(err: OAuthError) -> HttpResponse:
        return error_page(http, err)

    return answer(http, lambda: _device(http), refuse=page, fail=page)


def _device(http: HttpRequest) -> HttpResponse:
    if http.method == "GET":
        return _show(http, "enter", typed=http.GET.get(USER_CODE, "")[:_MAX_TYPED])
    typed = http.POST.get(USER_CODE, "")[:_MAX_TYPED]
    address = throttling.client_address(http)
    session = _session_key(http)
    try:
        throttling.check_not_locked("user_code", session, address)
    except TooManyRequests as err:
        return _show(http, "enter", typed=typed, message=LOCKED, status=429,
                     headers=err.headers)
    now = clock.now()
    record = get_device_store().by_user_code(user_code_key(typed)) if typed.strip() else None
    if record is None:
        throttling.record_failure("user_code", session, address)
        return _show(http, "enter", typed=typed, message=WRONG_CODE, status=400)
    if record.is_expired(now):
        return _show(http, "enter", message=EXPIRED_CODE, status=400)
    if record.status != PENDING:
        return _show(http, "enter", message=USED_CODE, status=400)
    decision = http.POST.get("decision")
    if decision not in ("allow", "deny"):
        return _confirm(http, record, typed)
    return _decide(http, record, decision == "allow")


def _confirm(http: HttpRequest, record: DeviceAuthorization, typed: str) -> HttpResponse:
    client = find_enabled_client(get_client_store(), record.client_id)
    if client is None:  # disabled since the device asked: nothing to approve
        return _show(http, "enter", message=WRONG_CODE, status=400)
    resources = resolve_user_scopes(record.scopes, get_resource_store())
    return _show(http, "confirm", typed=typed, client=client, branding=branding(client),
                 scopes=[shown_choice(c) for c in choices_for(record.scopes, resources)])


def _decide(http: HttpRequest, record: DeviceAuthorization, allow: bool) -> HttpResponse:
    session = sessions.current_session(http)
    if session is None:  # signed in before sessions were recorded: no sid to bind to
        session = UserSession(str(http.user.pk), int(clock.timestamp()),
                                       _session_key(http))
    granted: tuple[str, ...] = ()
    if allow:
        resources = resolve_user_scopes(record.scopes, get_resource_store())
        granted = (chosen_scopes(record.scopes, resources, http.POST.getlist("scope"))
                   if http.POST.get("choose_scopes") else record.scopes)
    decided = DeviceAuthorization(
        device_key=record.device_key, user_key=record.user_key, client_id=record.client_id,
        scopes=record.scopes, created=record.created, expires=record.expires,
        interval=record.interval, status=APPROVED if allow and granted else DENIED,
        subject_id=session.subject_id, session_id=session.session_id,
        auth_time=session.auth_time, amr=session.amr, granted_scopes=granted)
    if not get_device_store().decide(decided, clock.now()):  # someone else decided first
        return _show(http, "enter", message=USED_CODE, status=400)
    if decided.status == APPROVED:
        sessions.remember_client(http, record.client_id)
    return _show(http, "done", approved=decided.status == APPROVED)


def _session_key(http: HttpRequest) -> str:
    # The sign-in session's id (OIDC sid), stable across Django's session key rotation.
    sid = http.session.get(sessions.SESSION_ID)
    return str(sid) if sid else str(http.session.session_key or "")


def _show(http: HttpRequest, stage: str, *, status: int = 200,
          headers: dict[str, str] | None = None, **context: Any) -> HttpResponse:
    context.setdefault("typed", "")
    response = html_headers(render(http, "identity/device.html", {"stage": stage, **context},
                                   status=status))
    for name, value in (headers or {}).items():  # Retry-After of a refusal
        response[name] = value
    return response
