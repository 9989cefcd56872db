"""The JWKS endpoint: public halves of the announced, signing and retired keys (RFC 7517 §5)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from identity.errors import MethodNotAllowed
from identity.http.cors import with_cors
from identity.http.frame import protocol_errors
from identity.http.rendering import json_response
from identity.stores.registry import get_key_ring

# Short, so that a key announced or retired is seen well within the propagation time.
CACHE_SECONDS = 300


@with_cors("GET")
@protocol_errors
def jwks_endpoint(http: HttpRequest) -> HttpResponse:
    """Return the JSON Web Key Set."""
    if http.method not in ("GET", "HEAD"):
        raise MethodNotAllowed("GET")
    return json_response(get_key_ring().jwks(), no_store=False,
                         headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})
