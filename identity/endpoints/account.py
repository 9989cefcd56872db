"""Sign-in and the user's own list of applications they granted access to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from identity import throttling
from identity.conf import identity_settings
from identity.endpoints.csrf import no_referrer_form
from identity.endpoints.session import signed_in_required
from identity.errors import InvalidRequest, TooManyRequests
from identity.rendering import error_page, html_headers
from identity.stores import (
    find_enabled_client,
    get_client_store,
    get_consent_store,
    get_grant_store,
)

LOCKED_MESSAGE = "Too many failed sign-in attempts. Wait a few minutes and try again."


class LoginView(auth_views.LoginView):
    """Django's login (CSRF, no-store, safe `next` on this host only), with our template and
    failed attempts counted per user name, per address and per both (429 when over the limit)."""

    template_name = "identity/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return html_headers(super().dispatch(request, *args, **kwargs))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            throttling.check_not_locked("login", self._username(), self._address())
        except TooManyRequests as err:
            # Refused before the password is checked, so a locked account is no oracle.
            form = self.get_form_class()(request, initial={"username": self._username()})
            context = self.get_context_data(form=form, locked=LOCKED_MESSAGE)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = err.headers["Retry-After"]
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        throttling.record_failure("login", self._username(), self._address())
        return super().form_invalid(form)

    def _username(self) -> str:
        return str(self.request.POST.get("username", ""))[:150]

    def _address(self) -> str:
        return throttling.client_address(self.request)


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
