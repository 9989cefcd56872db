"""Turn protocol errors into RFC 6749 §5.2 JSON, and anything unexpected into a logged 500/503;
the common frame of the back-channel endpoints."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from identity.cors import with_cors
from identity.endpoints.forms import read_form
from identity.errors import MethodNotAllowed, OAuthError, ServerError
from identity.outage import OUTAGE_ERRORS, unavailable
from identity.rendering import error_json

logger = logging.getLogger(__name__)
View = Callable[[HttpRequest], HttpResponse]


def protocol_errors(view: View) -> View:
    """Render OAuthError as JSON; log other exceptions and answer without details."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except OAuthError as err:
            return error_json(err)
        except OUTAGE_ERRORS:  # the database or the shared cache: clients may retry
            logger.exception("dependency unavailable at %s", request.path)
            return error_json(unavailable())
        except Exception:
            logger.exception("unexpected error at %s", request.path)
            return error_json(ServerError("an unexpected error occurred"))

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
