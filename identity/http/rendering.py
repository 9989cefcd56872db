"""Render responses and protocol errors, one place per response style."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from identity.errors import OAuthError

logger = logging.getLogger(__name__)
R = TypeVar("R", bound=HttpResponseBase)
_JSON = "application/json"


def json_response(body: dict[str, Any], *, status: int = 200, no_store: bool = True,
                  headers: dict[str, str] | None = None) -> HttpResponse:
    """Return a compact JSON response; token-bearing responses are never cached (RFC 6749 §5.1)."""
    response = HttpResponse(json.dumps(body, separators=(",", ":")), content_type=_JSON,
                            status=status)
    if no_store:
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_json(err: OAuthError) -> HttpResponse:
    """Render an error as RFC 6749 §5.2 JSON, with the error's headers."""
    body = {"error": err.error}
    if err.description:
        body["error_description"] = err.description
    logger.info("oauth error %s (%s)%s", err.error, err.description,
                f": {err.detail}" if err.detail else "")
    return json_response(body, status=err.status, headers=err.headers)


def html_headers(response: R, *, csp: str = "frame-ancestors 'none'") -> R:
    """Mark an HTML page as never framed, never cached, never sniffed and never a referrer.

    No referrer: the URLs of these pages carry the authorization request (client, redirect URI,
    state, PKCE challenge), which must not reach the sites they link or redirect to. Their own
    forms are then posted with `Origin: null`: see identity.http.csrf.
    """
    response["Content-Security-Policy"] = csp
    response["X-Frame-Options"] = "DENY"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def error_page(request: HttpRequest, err: OAuthError) -> HttpResponse:
    """Render an error for a browser when the redirect URI cannot be trusted: never redirect."""
    logger.info("authorize error page %s (%s)%s", err.error, err.description,
                f": {err.detail}" if err.detail else "")
    if err.error == "temporarily_unavailable":
        # Who is signed in is in the database that may be down: the page names nobody.
        request.user = AnonymousUser()
    response = render(request, "identity/error.html",
                      {"error": err.error, "description": err.description},
                      status=err.status if err.status >= 400 else 400)
    for name, value in err.headers.items():  # Retry-After during an outage
        response[name] = value
    return html_headers(response)


def redirect_to(uri: str) -> HttpResponse:
    """Redirect to a registered client URI, whatever its scheme (native apps use their own)."""
    response = HttpResponse(status=302)
    response["Location"] = uri
    response["Cache-Control"] = "no-store"  # it may carry a code or tokens
    # A redirect's policy applies to the request it causes (Fetch §4.4): the client's page must
    # not learn the sign-in or consent URL it came through.
    response["Referrer-Policy"] = "no-referrer"
    return response


def authorize_response(request: HttpRequest, redirect_uri: str, params: Mapping[str, str | None],
                       mode: str) -> HttpResponse:
    """Send authorize results to the client: in the query, the fragment, or a form post.

    Spec: RFC 6749 §4.1.2; OAuth 2.0 Multiple Response Type Encoding Practices §2;
    OAuth 2.0 Form Post Response Mode.
    """
    values = {k: v for k, v in params.items() if v is not None}
    if mode == "form_post":
        nonce = secrets.token_urlsafe(16)
        response = render(request, "identity/form_post.html",
                          {"action": redirect_uri, "fields": values.items(), "nonce": nonce})
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(redirect_uri))
        return html_headers(response, csp=f"default-src 'none'; script-src 'nonce-{nonce}'; "
                                          f"form-action {origin}; frame-ancestors 'none'")
    encoded = urlencode(values)
    if mode == "fragment":
        return redirect_to(f"{redirect_uri}#{encoded}")
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return redirect_to(f"{redirect_uri}{separator}{encoded}")


def error_redirect(request: HttpRequest, err: OAuthError, redirect_uri: str, state: str | None,
                   mode: str, issuer: str) -> HttpResponse:
    """Send an error back to a trusted redirect URI, with `state` and `iss` (RFC 9207)."""
    logger.info("authorize error %s (%s)%s", err.error, err.description,
                f": {err.detail}" if err.detail else "")
    params = {"error": err.error, "error_description": err.description, "state": state,
              "iss": issuer}
    return authorize_response(request, redirect_uri, params, mode)
