"""Answer 503 with Retry-After, never a 500, while the database or the shared cache is down.

Protocol endpoints answer RFC 6749 `temporarily_unavailable` JSON (they catch outages in
endpoints/guard.py); browser pages (login, consent, grants, logout, the admin) get the error page.
Add `identity.http.outage.OutageMiddleware` to MIDDLEWARE, before the session middleware.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Final

from django.core.signals import got_request_exception
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from identity.errors import TemporarilyUnavailable
from identity.http.rendering import error_json, error_page

logger = logging.getLogger(__name__)
RETRY_AFTER: Final = "5"  # seconds: long enough not to hammer a recovering dependency
# url names (app "identity") whose callers are programs and expect JSON, not a page.
JSON_VIEWS: Final = frozenset({"token", "userinfo", "introspection", "revocation", "discovery",
                               "oauth-metadata", "jwks"})
_FAILED_DEPENDENCY: Final = "identity_outage"  # request attribute set by _note_outage


def _outage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [DatabaseError]
    try:  # Django's Redis cache raises redis-py's own errors, which are not OSErrors
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - no Redis client installed, so no Redis cache
        return tuple(errors)
    return (*errors, RedisConnectionError, RedisTimeoutError)


OUTAGE_ERRORS: Final = _outage_errors()


def unavailable() -> TemporarilyUnavailable:
    """Return the error to answer while a dependency is down."""
    err = TemporarilyUnavailable("the service is temporarily unavailable; try again shortly")
    err.headers["Retry-After"] = RETRY_AFTER
    return err


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """Return the 503 for this request: JSON for programs, the error page for browsers."""
    match = getattr(request, "resolver_match", None)
    if match is not None and "identity" in match.app_names and match.url_name in JSON_VIEWS:
        return error_json(unavailable())
    try:
        response = error_page(request, unavailable())
    except Exception:  # an overridden template may itself need what is down
        logger.warning("could not render the error page", exc_info=True)
        response = HttpResponse("Service temporarily unavailable; try again shortly.\n",
                                status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = RETRY_AFTER
    return response


class OutageMiddleware:
    """Turn outages of the database or cache into 503 answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Middleware inside this one (the session saved after the view) can fail too; Django
        # has already turned that into its 500 page by the time the response gets here.
        if response.status_code == 500 and getattr(request, _FAILED_DEPENDENCY, False):
            return unavailable_response(request)
        if response.status_code == 503 and not response.has_header("Retry-After"):
            response["Retry-After"] = RETRY_AFTER  # views that render their own 503
        return response

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        logger.error("dependency unavailable at %s", request.path, exc_info=exception)
        return unavailable_response(request)


def _note_outage(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Sent while Django handles an exception no view caught, so sys.exc_info() is it.
    if request is not None and isinstance(sys.exc_info()[1], OUTAGE_ERRORS):
        setattr(request, _FAILED_DEPENDENCY, True)


got_request_exception.connect(_note_outage, dispatch_uid="identity-outage")
