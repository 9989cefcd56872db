"""The error frame of the endpoints: protocol errors rendered as the channel needs them, an
outage as a 503 and anything unexpected as a logged 500; and the frame of the back-channel
endpoints (POST, form limits, CSRF exemption, CORS)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import wraps
from typing import TypeVar

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from identity.errors import MethodNotAllowed, OAuthError, ServerError
from identity.http.cors import with_cors
from identity.http.forms import read_form
from identity.http.outage import OUTAGE_ERRORS, unavailable
from identity.http.rendering import error_json

logger = logging.getLogger(__name__)
View = Callable[[HttpRequest], HttpResponse]


Render = Callable[[OAuthError], HttpResponse]
R = TypeVar("R", bound=HttpResponseBase)


def answer(request: HttpRequest, call: Callable[[], R], *, refuse: Callable[[OAuthError], R],
           fail: Callable[[OAuthError], R]) -> R:
    """The one error frame of every endpoint, front channel and back.

    A protocol error is rendered by `refuse` (JSON, the error page, or a redirect to the
    client); an outage of the database or shared cache (`temporarily_unavailable`, with
    Retry-After) and anything unexpected (`server_error`, logged, no details) by `fail`.
    """
    try:
        return call()
    except OAuthError as err:
        return refuse(err)
    except OUTAGE_ERRORS:  # the database or the shared cache: clients may retry
        logger.exception("dependency unavailable at %s", request.path)
        return fail(unavailable())
    except Exception:
        logger.exception("unexpected error at %s", request.path)
        return fail(ServerError("an unexpected error occurred"))


def protocol_errors(view: View) -> View:
    """Frame a back-channel view: every error answered as RFC 6749 §5.2 JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        return answer(request, lambda: view(request), refuse=error_json, fail=error_json)

    return wrapper


FormView = Callable[[HttpRequest, Mapping[str, str]], HttpResponse]


def back_channel(*sensitive: str, cors: bool = False) -> Callable[[FormView], View]:
    """Make `view(http, params)` a back-channel endpoint: POST only, its form parsed within the
    limits, protocol errors rendered, the `sensitive` parameters kept out of error reports, no
    CSRF check (callers authenticate, they have no cookies), and CORS for the origins clients
    allow when `cors`."""

    def decorate(view: FormView) -> View:
        @wraps(view)
        def endpoint(http: HttpRequest) -> HttpResponse:
            if http.method != "POST":
                raise MethodNotAllowed("POST")
            return view(http, read_form(http))

        handled = protocol_errors(endpoint)
        if cors:
            handled = with_cors("POST")(handled)
        return csrf_exempt(sensitive_post_parameters(*sensitive)(handled))

    return decorate
