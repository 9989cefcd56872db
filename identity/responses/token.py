"""Token responses: from a validated request to the JSON body, with no HTTP in sight.

Spec: RFC 6749 §5.1; RFC 9068 (JWT access tokens).
"""

from __future__ import annotations

from typing import Any

from identity.constants import JWT_ACCESS_TOKEN_TYPE, TokenType
from identity.domain.requests import ValidatedTokenRequest
from identity.tokens.claims import access_token_claims
from identity.tokens.jwt import sign
from identity.tokens.keys import KeyRing


def create_token_response(request: ValidatedTokenRequest, issuer: str, now: int, ring: KeyRing,
                          static_audience: str | None) -> dict[str, Any]:
    """Issue the access token and return the response body."""
    claims = access_token_claims(request, issuer, now, static_audience)
    token = sign(claims, ring.signing_key(), JWT_ACCESS_TOKEN_TYPE)
    return {
        "access_token": token,
        "token_type": TokenType.BEARER.value,
        "expires_in": request.client.access_token_lifetime,
        "scope": claims["scope"],
    }
