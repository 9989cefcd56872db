"""RP-initiated logout with front-channel logout of every client of the session.

Spec: OpenID Connect RP-Initiated Logout 1.0 §2-3; Front-Channel Logout 1.0 §2-4.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from identity.domain.client import Client
from identity.endpoints.authorize import read_authorize_params
from identity.errors import InvalidToken, OAuthError
from identity.http import session as sessions
from identity.http.csrf import csrf_protect_form
from identity.http.frame import answer
from identity.http.issuer import get_issuer
from identity.http.rendering import error_page, html_headers
from identity.stores.interfaces import ClientStore, find_enabled_client
from identity.stores.registry import get_client_store, get_key_ring
from identity.tokens.subject import subject_for
from identity.tokens.verification import decode_id_token_hint

logger = logging.getLogger(__name__)
CONFIRMED = "confirm_logout"


@csrf_exempt  # RPs send users here cross-site; signing out without a valid hint needs a
@require_http_methods(["GET", "POST"])  # confirmation, which is CSRF-checked below
def end_session_endpoint(http: HttpRequest) -> HttpResponseBase:
    """Sign the user out, tell every client of the session, then return to the client."""

    def page(err: OAuthError) -> HttpResponseBase:
        return error_page(http, err)

    return answer(http, lambda: _end_session(http), refuse=page, fail=page)


def _end_session(http: HttpRequest) -> HttpResponseBase:
    params = read_authorize_params(http)
    store = get_client_store()
    issuer = get_issuer(http)
    client, hint_sub = _hinted_client(params, store, issuer)
    target = _post_logout_redirect(params, client)
    user = getattr(http, "user", None)
    signed_in = user is not None and user.is_authenticated
    matches = (client is not None and user is not None and signed_in
               and hint_sub == subject_for(client, str(user.pk)))
    if signed_in and not matches and (CONFIRMED not in params or http.method != "POST"):
        shown = {k: v for k, v in params.items() if k != CONFIRMED}
        return html_headers(render(http, "identity/logout_confirm.html", {"params": shown}))
    if signed_in and not matches:
        return csrf_protect_form(lambda r: _sign_out(r, store, issuer, target))(http)
    return _sign_out(http, store, issuer, target)


def _sign_out(http: HttpRequest, store: ClientStore, issuer: str,
              target: str | None) -> HttpResponse:
    sid = http.session.get(sessions.SESSION_ID)
    frames = []
    for client_id in sessions.session_clients(http):
        client = find_enabled_client(store, client_id)
        if client is None or not client.front_channel_logout_uri:
            continue
        uri = client.front_channel_logout_uri
        if client.front_channel_logout_session_required and sid:
            separator = "&" if urlsplit(uri).query else "?"
            uri = f"{uri}{separator}{urlencode({'iss': issuer, 'sid': sid})}"
        frames.append(uri)
    if getattr(http, "user", None) is not None and http.user.is_authenticated:
        logger.info("user signed out, %d front-channel logout URIs", len(frames))
    logout(http)  # also POSTs the back-channel logouts (identity.http.back_channel_logout)
    response = render(http, "identity/logged_out.html", {"frames": frames, "target": target})
    csp = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
    origins = sorted({"{0.scheme}://{0.netloc}".format(urlsplit(f)) for f in frames})
    if origins:
        csp += "; frame-src " + " ".join(origins)
    return html_headers(response, csp=csp)


def _hinted_client(params: Mapping[str, str], store: ClientStore,
                   issuer: str) -> tuple[Client | None, str | None]:
    hint = params.get("id_token_hint")
    if hint is None:
        return None, None
    try:
        claims = decode_id_token_hint(hint, get_key_ring(), issuer)
    except InvalidToken:  # an access token is no hint: it names no client as its audience
        return None, None
    client_id = str(claims["aud"])
    asked = params.get("client_id")
    if asked is not None and asked != client_id:
        return None, None
    return find_enabled_client(store, client_id), str(claims.get("sub", ""))


def _post_logout_redirect(params: Mapping[str, str], client: Client | None) -> str | None:
    uri = params.get("post_logout_redirect_uri")
    if uri is None or client is None or uri not in client.post_logout_redirect_uris:
        return None  # never redirect anywhere not registered for a hinted client
    state = params.get("state")
    if state is None:
        return uri
    separator = "&" if urlsplit(uri).query else "?"
    return f"{uri}{separator}{urlencode({'state': state})}"
