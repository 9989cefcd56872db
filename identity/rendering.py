"""Render responses and protocol errors, one place per response style."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpResponse

from identity.errors import OAuthError

logger = logging.getLogger(__name__)
_JSON = "application/json"


def json_response(body: dict[str, Any], *, status: int = 200, no_store: bool = True,
                  headers: dict[str, str] | None = None) -> HttpResponse:
    """Return a compact JSON response; token-bearing responses are never cached (RFC 6749 §5.1)."""
    response = HttpResponse(json.dumps(body, separators=(",", ":")), content_type=_JSON,
                            status=status)
    if no_store:
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
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
