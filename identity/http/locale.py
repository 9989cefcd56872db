"""The OpenID Connect `ui_locales` parameter: the client's choice of language for our pages.

Spec: OpenID Connect Core §3.1.2.1 (space-separated BCP47 tags, most preferred first). The
parameter belongs to the authorization request, which reaches the login and consent pages inside
their `next` and `return` URLs; it wins over the browser's Accept-Language (PageLocaleMiddleware).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.urls import reverse
from django.utils import translation

from identity.http.branding import authorize_query

# Caller input: only the head of the parameter is read, so long or many tags cost nothing.
MAX_UI_LOCALES = 256
MAX_TAGS = 10
MAX_URL = 8192
_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
_FORM = "application/x-www-form-urlencoded"
# JSON for programs: no language to choose, and a `Vary: Accept-Language` would split the caches
# of the discovery document and the keys.
PROTOCOL_ENDPOINTS = ("token", "introspection", "revocation", "userinfo", "discovery",
                      "oauth-metadata", "jwks")


class PageLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware (Accept-Language), kept off the protocol endpoints."""

    async_capable = False  # sync only, like the rest of the stack; Django adapts under ASGI

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        super().__init__(get_response)
        self._skipped: frozenset[str] | None = None

    def skipped_paths(self) -> frozenset[str]:
        """The paths served without Accept-Language negotiation: the protocol endpoints'."""
        return frozenset(reverse(f"identity:{name}") for name in PROTOCOL_ENDPOINTS)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self._skipped is None:
            self._skipped = self.skipped_paths()
        if request.path in self._skipped:
            # The thread may still hold the language of the page it served last.
            translation.deactivate()
            return self.get_response(request)  # type: ignore[return-value]
        return super().__call__(request)  # type: ignore[return-value]


def ui_locale_from(params: Mapping[str, str]) -> str | None:
    """Return the first supported language of `ui_locales` in `params` (a tag or its primary
    subtag: "fr-CA" gives "fr"), or None."""
    value = params.get("ui_locales")
    if not isinstance(value, str):
        return None
    supported = {code.lower() for code, _ in settings.LANGUAGES}
    for tag in value[:MAX_UI_LOCALES].split()[:MAX_TAGS]:
        if not _TAG.fullmatch(tag):
            continue
        tag = tag.lower().replace("_", "-")
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate in supported:
                return candidate
    return None


def ui_locales_of_url(url: str) -> str | None:
    """Return `ui_locales` of a URL of our authorize endpoint (a login `next`, a consent
    `return`), or None for any other URL."""
    values = (authorize_query(url) or {}).get("ui_locales")
    return values[0] if values else None


class UiLocalesMiddleware:
    """Switch the login, consent and authorize pages to the language of `ui_locales`.

    Place it after PageLocaleMiddleware, whose Accept-Language choice it overrides. Any other path
    (the token endpoint above all) is passed through after one set lookup.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self._pages: dict[str, str] | None = None  # path -> page, reversed on first use

    def pages(self) -> dict[str, str]:
        if self._pages is None:
            self._pages = {reverse(f"identity:{name}"): name
                           for name in ("login", "consent", "authorize")}
        return self._pages

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        page = self.pages().get(request.path)
        if page is None or request.method not in ("GET", "POST"):
            return self.get_response(request)
        language = _requested_language(request, page)
        if language is None:
            return self.get_response(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response["Content-Language"] = language
        return response


def _requested_language(request: HttpRequest, page: str) -> str | None:
    if page == "authorize":
        return ui_locale_from(_authorize_params(request))
    source = request.POST if request.method == "POST" else request.GET
    url = source.get("next" if page == "login" else "return")
    if not url:
        return None
    embedded = ui_locales_of_url(url)
    return ui_locale_from({"ui_locales": embedded}) if embedded else None


def _authorize_params(request: HttpRequest) -> dict[str, str]:
    # The authorize endpoint reads its own body with its own limits (identity.validation.params):
    # only a small form body is read here, so that a refused one stays the endpoint's answer.
    if request.method == "POST":
        if request.content_type != _FORM:
            return {}
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return {}
        if not 0 < length <= MAX_URL:
            return {}
        query = request.body.decode("latin-1")
    else:
        query = request.META.get("QUERY_STRING", "")[:MAX_URL]
    values = parse_qs(query).get("ui_locales")
    return {"ui_locales": values[0]} if values else {}
