"""Sign-in and the user's own list of applications they granted access to."""

from __future__ import annotations

from typing import Any

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
from identity.http import throttling
from identity.http.branding import branding, client_of_authorize_url
from identity.http.csrf import no_referrer_form
from identity.http.rendering import error_page, html_headers
from identity.http.session import signed_in_required
from identity.stores.interfaces import find_enabled_client
from identity.stores.orm_users import account_key
from identity.stores.registry import get_client_store, get_consent_store, get_grant_store

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
    """List the applications the user granted access to, and revoke one."""
    subject = str(http.user.pk)
    consents = get_consent_store()
    if http.method == "POST":
        client_id = http.POST.get("client_id", "")
        if (not client_id or "\x00" in client_id
                or len(client_id) > identity_settings.INPUT_LENGTHS.get(
                    "client_id", identity_settings.DEFAULT_INPUT_LENGTH)):
            return error_page(http, InvalidRequest("choose an application to revoke"))
        with transaction.atomic():  # never the consent gone and the tokens still alive
            consents.remove(subject, client_id)
            get_grant_store().remove_all(subject, client_id)
        return redirect("identity:grants")
    store = get_client_store()
    rows = []
    for consent in consents.for_subject(subject):
        client = find_enabled_client(store, consent.client_id)
        rows.append({"client_id": consent.client_id,
                     "name": (client.client_name if client else None) or consent.client_id,
                     "scopes": consent.scopes, "created": consent.created,
                     "expires": consent.expires})
    return html_headers(render(http, "identity/grants.html", {"grants": rows}))
