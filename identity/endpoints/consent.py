"""The consent page: which client asks for which scopes; allow (optionally remembered) or deny.

Spec: OpenID Connect Core §3.1.2.4; RFC 6749 §4.1.2.1 (access_denied); IdentityServer's
AllowRememberConsent and ConsentLifetime.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_http_methods

from identity import clock
from identity.conf import identity_settings
from identity.domain.client import Client
from identity.domain.grants import Consent
from identity.errors import AccessDenied, InvalidRequest, OAuthError
from identity.http import authorization_request
from identity.http import session as sessions
from identity.http.branding import branding
from identity.http.csrf import no_referrer_form
from identity.http.frame import Render, answer
from identity.http.issuer import get_issuer
from identity.http.rendering import error_page, error_redirect, html_headers, redirect_to
from identity.http.session import signed_in_required
from identity.stores.registry import get_client_store, get_consent_store, get_resource_store
from identity.validation.authorize_request import (
    error_response_mode,
    trusted_client_and_redirect,
    validate_authorize_request,
)
from identity.validation.consent import ScopeChoice, consented_scopes, scope_choices
from identity.validation.params import parse_query


@no_referrer_form
@signed_in_required
@require_http_methods(["GET", "POST"])
def consent_page(http: HttpRequest) -> HttpResponse:
    """Show the consent form for the authorize request in `return`, or record the answer."""

    def page(err: OAuthError) -> HttpResponse:
        return error_page(http, err)

    return answer(http, lambda: _consent(http, page), refuse=page, fail=page)


def _consent(http: HttpRequest, page: Render) -> HttpResponse:
    source = http.POST if http.method == "POST" else http.GET
    back = source.get("return", "")
    query = _authorize_params(back)
    # The parameters as authorize read them: a pushed request or a request object resolved.
    params = authorization_request.resolve(http, query).params
    client, redirect_uri = trusted_client_and_redirect(params, get_client_store())
    mode = error_response_mode(params)

    def to_client(err: OAuthError) -> HttpResponse:
        return error_redirect(http, err, redirect_uri, params.get("state"), mode,
                              get_issuer(http))

    return answer(http, lambda: _answer(http, query, params, back, client, redirect_uri),
                  refuse=to_client, fail=page)


def _answer(http: HttpRequest, query: Mapping[str, str], params: Mapping[str, str], back: str,
            client: Client, redirect_uri: str) -> HttpResponse:
    request = validate_authorize_request(params, client, redirect_uri, get_resource_store())
    if http.method == "GET":
        return html_headers(render(http, "identity/consent.html", {
            "client": client, "branding": branding(client), "request": request,
            "return_url": back,
            "scopes": [shown_choice(c) for c in scope_choices(request)],
        }))
    if http.POST.get("decision") != "allow":
        raise AccessDenied("the user denied the request")
    # The form marks that it offers a choice; a project's own consent template without the
    # checkboxes grants what was asked, as before.
    granted = (consented_scopes(request, http.POST.getlist("scope"))
               if http.POST.get("choose_scopes") else request.scopes)
    if not granted:
        raise AccessDenied("the user granted no scope")
    subject = str(http.user.pk)
    if http.POST.get("remember") and client.allow_remember_consent:
        now = clock.now()
        lifetime = client.consent_lifetime
        # Exactly what was granted: a later request for more asks again.
        get_consent_store().save(Consent(
            subject, client.client_id, granted, now,
            now + timedelta(seconds=lifetime) if lifetime else None))
    sessions.grant_one_time_consent(http, client.client_id, request.scopes, granted)
    # Rebuilt from the parsed parameters, never the raw value: only our authorize URL.
    return redirect_to(reverse("identity:authorize") + "?" + urlencode(query))


# The names of the standard scopes and of offline access, translated when shown; scopes defined
# by the deployment are shown as configured.
_STANDARD_TEXTS = (
    gettext_noop("Your user identifier"), gettext_noop("User profile"),
    gettext_noop("Your email address"), gettext_noop("Your phone number"),
    gettext_noop("Your postal address"), gettext_noop("Offline access"),
    gettext_noop("Keep access while you are away"),
)


def shown_choice(choice: ScopeChoice) -> dict[str, object]:
    """Return a scope choice as the consent templates show it (names translated)."""
    return {"name": choice.name, "display_name": gettext(choice.display_name),
            "description": gettext(choice.description) if choice.description else "",
            "required": choice.required, "emphasize": choice.emphasize, "kind": choice.kind}


def _authorize_params(back: str) -> QueryDict | dict[str, str]:
    # Only our own authorize endpoint is a valid return target: no open redirect.
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or parts.path != reverse("identity:authorize"):
        raise InvalidRequest("the consent request does not come from this server")
    return dict(parse_query(parts.query, max_query=identity_settings.MAX_REQUEST_BODY,
                            max_lengths=identity_settings.INPUT_LENGTHS,
                            default_max_length=identity_settings.DEFAULT_INPUT_LENGTH))
