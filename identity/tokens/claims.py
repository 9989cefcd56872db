"""Claims of access tokens.

Spec: RFC 9068 §2.2 (JWT profile for access tokens); IdentityServer's client claims and
`ClientClaimsPrefix`.
"""

from __future__ import annotations

import secrets
from typing import Any

from identity.constants import GrantType
from identity.domain.requests import ValidatedTokenRequest


def access_token_claims(request: ValidatedTokenRequest, issuer: str, now: int,
                        static_audience: str | None) -> dict[str, Any]:
    """Return the claims of an access token issued at `now` (seconds since the epoch)."""
    client = request.client
    audiences = [r.name for r in request.resources.api_resources]
    if static_audience:
        audiences.append(static_audience)
    if not audiences:  # RFC 9068 requires aud; IdentityServer's static audience stands in
        audiences.append(f"{issuer}/resources")
    claims: dict[str, Any] = {
        "iss": issuer,
        "exp": now + client.access_token_lifetime,
        "iat": now,
        "nbf": now,
        "aud": audiences[0] if len(audiences) == 1 else audiences,
        # RFC 9068 §2.2: without a user, the subject is the client itself.
        "sub": request.subject or client.client_id,
        "client_id": client.client_id,
        "scope": " ".join(request.scopes),
    }
    if client.include_jwt_id:
        claims["jti"] = secrets.token_hex(16)
    if client.claims and (client.always_send_client_claims
                          or request.grant_type == GrantType.CLIENT_CREDENTIALS):
        prefix = client.client_claims_prefix or ""
        grouped: dict[str, list[str]] = {}
        for claim in client.claims:
            grouped.setdefault(prefix + claim.type, []).append(claim.value)
        for name, values in grouped.items():
            if name not in claims:  # client claims never override protocol claims
                claims[name] = values[0] if len(values) == 1 else values
    return claims
