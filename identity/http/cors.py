"""CORS for the token, discovery and JWKS endpoints, for origins that clients allow.

Spec: Fetch standard (CORS protocol); IdentityServer applies its CORS policy to these endpoints;
RFC 9449 §8 (browser clients send DPoP proofs and read DPoP-Nonce).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from identity.stores.registry import get_cors_policy

View = Callable[[HttpRequest], HttpResponse]
MAX_AGE = "600"


def with_cors(methods: str) -> Callable[[View], View]:
    """Answer preflights and add CORS headers for allowed origins; others get no CORS headers."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            origin = request.META.get("HTTP_ORIGIN")  # META: cheaper than building .headers
            allowed = bool(origin) and get_cors_policy().is_origin_allowed(origin or "")
            if (request.method == "OPTIONS"
                    and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META):
                response = HttpResponse(status=204)
                if allowed:
                    response["Access-Control-Allow-Methods"] = methods
                    # DPoP: browser clients send proofs and read new nonces (RFC 9449 §8).
                    response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, DPoP"
                    response["Access-Control-Max-Age"] = MAX_AGE
            else:
                response = view(request)
            if allowed:
                response["Access-Control-Allow-Origin"] = origin or ""
                if response.has_header("DPoP-Nonce"):
                    response["Access-Control-Expose-Headers"] = "DPoP-Nonce"
            if origin:
                response["Vary"] = "Origin"
            return response

        return wrapper

    return decorate
