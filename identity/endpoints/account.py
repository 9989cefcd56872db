"""Sign-in and the user's own list of applications they granted access to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from identity.conf import identity_settings
from identity.errors import InvalidRequest, TooManyRequests
from identity.http import server_side_sessions, throttling
from identity.http import session as sessions
from identity.http.branding import branding, client_of_authorize_url
from identity.http.csrf import no_referrer_form
from identity.http.issuer import get_issuer
from identity.http.rendering import error_page, html_headers
from identity.http.session import signed_in_required
from identity.stores import orm_sessions
from identity.stores.interfaces import ClientStore, find_enabled_client
from identity.stores.orm_users import account_key
from identity.stores.registry import get_client_store, get_consent_store, get_grant_store

SID_LENGTH = 100  # the sid column; a longer value names no session
ACCOUNT_NAME_LIMIT = 150  # Django's user name length; longer input names no account
LOCKED_MESSAGE = gettext_lazy(
    "Too many failed sign-in attempts. Wait a few minutes and try again.")


def sign_in_subject(raw_username: object) -> str:
    """Return the throttling subject of a sign-in: the user name as the sign-in form cleans it
    (spaces stripped, Unicode NFKC), resolved to the account it names."""
    field = AuthenticationForm.base_fields["username"]
    name = str(field.to_python(str(raw_username or "")[:ACCOUNT_NAME_LIMIT]) or "")
    return account_key(name)


def sign_in_refusal(request: HttpRequest) -> TooManyRequests | None:
    """Return the refusal for a sign-in POST from an address that failed too often, or None."""
    try:
        throttling.check_not_locked("login", sign_in_subject(request.POST.get("username")),
                                    throttling.client_address(request))
    except TooManyRequests as err:
        return err
    return None


def _sign_in_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                    **kwargs: Any) -> None:
    """Count a failed authenticate() of any sign-in form (ours, the admin's) under the account
    and the address."""
    if request is None:
        return
    name = str(credentials.get("username") or "")[:ACCOUNT_NAME_LIMIT]
    throttling.record_failure("login", account_key(name), throttling.client_address(request))


user_login_failed.connect(_sign_in_failed, dispatch_uid="identity-sign-in-failed")


class LoginView(auth_views.LoginView):
    """Django's login (CSRF, no-store, safe `next` on this host only), with our template and
    failed attempts counted per account and address, and per address (429 over a limit)."""

    template_name = "identity/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return html_headers(super().dispatch(request, *args, **kwargs))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # The application the sign-in is for, named by the authorize request it returns to.
        context["branding"] = branding(client_of_authorize_url(str(context.get("next") or "")))
        return context

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        current = getattr(self.request, "user", None)
        if current is not None and current.is_authenticated and \
                current.pk != form.get_user().pk:
            # Another person signs in on this browser: the first one's session ends here, with
            # its logouts, rather than being dropped by Django's login() without a word.
            logout(self.request)
        return super().form_valid(form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = sign_in_refusal(request)
        if refused is not None:
            # Refused before the password is checked, so a locked account is no oracle.
            username = str(request.POST.get("username", ""))[:ACCOUNT_NAME_LIMIT]
            form = self.get_form_class()(request, initial={"username": username})
            context = self.get_context_data(form=form, locked=LOCKED_MESSAGE)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = refused.headers["Retry-After"]
            return response
        return super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None
                ) -> HttpResponse:
    """The admin's sign-in with the same limits as ours: route `admin/login/` to it, ahead of
    `admin.site.urls` (identity.W002 says when it is not)."""
    from django.contrib import admin

    if request.method == "POST":
        refused = sign_in_refusal(request)
        if refused is not None:
            response = html_headers(render(request, "identity/error.html", {
                "error": "too_many_attempts", "description": str(LOCKED_MESSAGE)}, status=429))
            response["Retry-After"] = refused.headers["Retry-After"]
            return response
    return admin.site.login(request, extra_context)


login_page = no_referrer_form(LoginView.as_view())


@no_referrer_form
@signed_in_required
@require_http_methods(["GET", "POST"])
def grants_page(http: HttpRequest) -> HttpResponse:
    """List the applications the user granted access to and the user's sign-in sessions;
    revoke an application, end a session, or sign out everywhere."""
    if http.method == "POST":
        action = http.POST.get("action", "revoke")
        if action == "sign_out_everywhere":
            return _sign_out_everywhere(http)
        if action == "end_session":
            return _end_session(http)
        return _revoke(http)
    subject = str(http.user.pk)
    store = get_client_store()
    rows = []
    for consent in get_consent_store().for_subject(subject):
        rows.append({"client_id": consent.client_id,
                     "name": _client_name(store, consent.client_id),
                     "scopes": consent.scopes, "created": consent.created,
                     "expires": consent.expires})
    current = http.session.get(sessions.SESSION_ID)
    session_rows = [{"sid": s.session_id, "current": s.session_id == current,
                     "created": s.created, "renewed": s.renewed, "user_agent": s.user_agent,
                     "clients": [_client_name(store, c.client_id) for c in s.clients.all()]}
                    for s in orm_sessions.of_user(str(http.user.pk)).prefetch_related("clients")]
    return html_headers(render(http, "identity/grants.html",
                               {"grants": rows, "sessions": session_rows}))


def _client_name(store: ClientStore, client_id: str) -> str:
    client = find_enabled_client(store, client_id)
    return (client.client_name if client else None) or client_id


def _revoke(http: HttpRequest) -> HttpResponse:
    client_id = http.POST.get("client_id", "")
    if (not client_id or "\x00" in client_id
            or len(client_id) > identity_settings.INPUT_LENGTHS.get(
                "client_id", identity_settings.DEFAULT_INPUT_LENGTH)):
        return error_page(http, InvalidRequest("choose an application to revoke"))
    subject = str(http.user.pk)
    with transaction.atomic():  # never the consent gone and the tokens still alive
        get_consent_store().remove(subject, client_id)
        get_grant_store().remove_all(subject, client_id)
    return redirect("identity:grants")


def _end_session(http: HttpRequest) -> HttpResponse:
    """End another of the user's sessions (the user's own, never anyone else's)."""
    sid = http.POST.get("sid", "")
    if not sid or "\x00" in sid or len(sid) > SID_LENGTH:
        return error_page(http, InvalidRequest("choose a session to end"))
    if sid == http.session.get(sessions.SESSION_ID):
        return _sign_out_everywhere(http, others=False)
    server_side_sessions.end(orm_sessions.of_user(str(http.user.pk)).filter(session_id=sid),
                             fallback_issuer=get_issuer(http))
    return redirect("identity:grants")


def _sign_out_everywhere(http: HttpRequest, others: bool = True) -> HttpResponse:
    if others:
        server_side_sessions.end(orm_sessions.of_user(str(http.user.pk)),
                                 fallback_issuer=get_issuer(http))
    logout(http)  # this browser: its session ends (if not ended just now) and it signs out
    return html_headers(render(http, "identity/logged_out.html", {"frames": [], "target": None}))
