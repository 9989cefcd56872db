"""The authorize endpoint: trust the client and redirect URI, validate, sign in, consent, code.

Spec: RFC 6749 §4.1.1-4.1.2; OpenID Connect Core §3.1.2; RFC 7636; RFC 9207 (`iss`); RFC 9126
§4 (request_uri of a pushed request); RFC 9101 (signed request objects).
The parameters come from the query, a request object or a pushed request
(`identity.http.authorization_request`); return trips to this endpoint repeat the query.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from identity import clock
from identity.conf import identity_settings
from identity.domain.client import Client
from identity.domain.requests import UserSession
from identity.errors import InvalidRequest, OAuthError
from identity.grants.authorization_code import issue_code
from identity.http import authorization_request
from identity.http import session as sessions
from identity.http.forms import read_form
from identity.http.frame import Render, answer
from identity.http.issuer import get_issuer
from identity.http.rendering import authorize_response, error_page, error_redirect, redirect_to
from identity.stores.registry import (
    get_client_store,
    get_consent_store,
    get_grant_store,
    get_resource_store,
)
from identity.validation.authorize_request import (
    error_response_mode,
    trusted_client_and_redirect,
    validate_authorize_request,
)
from identity.validation.consent import narrowed
from identity.validation.interaction import (
    SIGN_IN_TICKET,
    Interaction,
    is_fresh_sign_in,
    next_interaction,
    request_digest,
    require_sign_in,
)
from identity.validation.params import parse_query

logger = logging.getLogger(__name__)


def read_authorize_params(http: HttpRequest) -> Mapping[str, str]:
    """Return the parameters of a GET query or a form POST, refusing repeated ones."""
    lengths = identity_settings.INPUT_LENGTHS
    default = identity_settings.DEFAULT_INPUT_LENGTH
    if http.method == "POST":
        return read_form(http, keep_body=True)
    return parse_query(http.META.get("QUERY_STRING", ""),
                       max_query=identity_settings.MAX_REQUEST_BODY, max_lengths=lengths,
                       default_max_length=default)


def authorize_url(params: Mapping[str, str], extra: Mapping[str, str] | None = None) -> str:
    """Rebuild the authorize URL for a return trip, every parameter kept."""
    # prompt and max_age stay: what satisfies them is recorded where the browser cannot edit
    # it (the signed sign-in ticket, the one-time consent in the session), so a return URL
    # opened without signing in or answering, or replayed later, asks again.
    return reverse("identity:authorize") + "?" + urlencode({**params, **(extra or {})})


def sign_in_redirect(params: Mapping[str, str], session: UserSession | None, now: int,
                     digest: str) -> HttpResponse:
    """Send the user to the login page, returning to this request with a sign-in ticket."""
    # Only a sign-in made after now, for this request, satisfies the ticket: removing it
    # leaves prompt=login or max_age to ask again, and a used one is not accepted twice.
    requirement = require_sign_in(secrets.token_urlsafe(16), session, now, digest)
    ticket = sessions.issue_sign_in_ticket(requirement)
    back = authorize_url(params, extra={SIGN_IN_TICKET: ticket})
    return redirect_to(resolve_url(identity_settings.LOGIN_URL) + "?" + urlencode({"next": back}))


@csrf_exempt  # a cross-site top-level request by design; it changes nothing without the user
@require_http_methods(["GET", "POST"])
def authorize_endpoint(http: HttpRequest) -> HttpResponse:
    """Handle an authorization request from a client's front channel."""

    def page(err: OAuthError) -> HttpResponse:
        return error_page(http, err)

    return answer(http, lambda: _trusted(http, page), refuse=page, fail=page)


def _trusted(http: HttpRequest, page: Render) -> HttpResponse:
    # Until the client and redirect URI are trusted, errors are shown on our page (RFC 6749
    # §4.1.2.1: never redirect to an unverified URI); then protocol errors go to the client.
    query = read_authorize_params(http)
    found = authorization_request.resolve(http, query)
    params = found.params
    client, redirect_uri = trusted_client_and_redirect(params, get_client_store())
    issuer = get_issuer(http)
    mode = error_response_mode(params)

    def to_client(err: OAuthError) -> HttpResponse:
        return error_redirect(http, err, redirect_uri, params.get("state"), mode, issuer)

    return answer(http, lambda: _authorize(http, query, found, client, redirect_uri),
                  refuse=to_client, fail=page)


def _authorize(http: HttpRequest, query: Mapping[str, str],
               found: authorization_request.AuthorizationParameters, client: Client,
               redirect_uri: str) -> HttpResponse:
    params = found.params
    authorization_request.check_required(client, found)
    request = validate_authorize_request(params, client, redirect_uri, get_resource_store())
    session = sessions.current_session(http)
    digest = request_digest(params)
    ticket = sessions.read_sign_in_ticket(params.get(SIGN_IN_TICKET))
    fresh = is_fresh_sign_in(ticket, session, digest, sessions.used_sign_in_tickets(http))
    client_id = request.client.client_id
    remembered = (get_consent_store().get(session.subject_id, client_id)
                  if session is not None and request.client.require_consent else None)
    one_time = session is not None and sessions.has_one_time_consent(http, client_id,
                                                                      request.scopes)
    now = clock.timestamp()
    step = next_interaction(request, session, now, remembered, one_time, fresh)
    if step is Interaction.LOGIN:
        return sign_in_redirect(query, session, now, digest)
    if step is Interaction.CONSENT:
        back = authorize_url(query)
        return redirect_to(reverse("identity:consent") + "?" + urlencode({"return": back}))
    if session is None:  # pragma: no cover - next_interaction asked for a login
        raise InvalidRequest("no session")
    granted = sessions.take_one_time_consent(http, client_id, request.scopes)
    if granted is not None:  # the person may have unticked optional scopes
        request = narrowed(request, granted)
    if fresh and ticket is not None:  # the sign-in made for this request is spent on its code
        sessions.use_sign_in_ticket(http, ticket.ticket_id)
    code = issue_code(request, session, clock.now(), get_grant_store())
    authorization_request.spend(http, found)
    sessions.remember_client(http, client_id)
    logger.info("code issued client_id=%s", client_id)
    return authorize_response(http, redirect_uri, {"code": code, "state": request.state,
                                                   "iss": get_issuer(http)},
                              request.response_mode)
