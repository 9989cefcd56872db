"""Turn protocol errors into RFC 6749 §5.2 JSON, and anything unexpected into a logged 500/503."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from identity.errors import OAuthError, ServerError
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
