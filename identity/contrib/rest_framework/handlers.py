"""An exception handler that adds the RFC 6750 §3.1 insufficient_scope challenge to the 403 of
a scope permission.

DRF's own handler puts WWW-Authenticate only on 401s (from the authentication class's
`authenticate_header`). Optional: name it in REST_FRAMEWORK["EXCEPTION_HANDLER"], or call it
from the project's own handler. Without it, a missing scope is still a 403 with a message.
"""

from __future__ import annotations

from typing import Any

from rest_framework.views import (  # type: ignore[import-untyped, unused-ignore]
    exception_handler as drf_exception_handler,
)

from identity.contrib.rest_framework.conf import get_settings
from identity.contrib.rest_framework.permissions import INSUFFICIENT_SCOPE_ATTRIBUTE


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's answer to `exc`, with `WWW-Authenticate: Bearer error="insufficient_scope",
    scope="..."` on a 403 that a scope permission caused."""
    response = drf_exception_handler(exc, context)
    scopes = getattr(context.get("request"), INSUFFICIENT_SCOPE_ATTRIBUTE, None)
    if (response is not None and response.status_code == 403 and scopes
            and "WWW-Authenticate" not in response):
        response["WWW-Authenticate"] = (f'Bearer realm="{get_settings().realm}", '
                                        f'error="insufficient_scope", scope="{scopes}"')
    return response
