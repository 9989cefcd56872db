"""Claims of access tokens and ID tokens.

Spec: RFC 9068 §2.2 (JWT access tokens); OpenID Connect Core §2, §3.1.3.6 (ID token, at_hash);
IdentityServer's client claims and `ClientClaimsPrefix`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from identity.constants import GrantType
from identity.domain.requests import ValidatedTokenRequest
from identity.tokens.subject import subject_for

_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def access_token_claims(request: ValidatedTokenRequest, issuer: str, now: int,
                        static_audience: str | None,
                        user_claims: dict[str, Any] | None = None) -> dict[str, Any]:
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
        # RFC 9068 §2.2: without a user, the subject is the client itself. A user is named as
        # in the client's ID tokens (pairwise with a salt, OIDC Core §8.1): a raw id here would
        # let clients correlate users. Introspection and userinfo find the user server-side.
        "sub": subject_for(client, request.subject) if request.subject else client.client_id,
        "client_id": client.client_id,
        "scope": " ".join(request.scopes),
    }
    if request.session is not None:
        claims["auth_time"] = request.session.auth_time
        claims["amr"] = list(request.session.amr)
        claims["sid"] = request.session.session_id
    if client.include_jwt_id:
        claims["jti"] = secrets.token_hex(16)
    for name, value in (user_claims or {}).items():
        claims.setdefault(name, value)
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


def token_hash(token: str, algorithm: str) -> str:
    """Return `at_hash`: the left half of the token's hash, base64url (OIDC Core §3.1.3.6)."""
    digest = _HASHES[algorithm[-3:]](token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def id_token_claims(request: ValidatedTokenRequest, issuer: str, now: int, access_token: str,
                    algorithm: str, user_claims: dict[str, Any]) -> dict[str, Any]:
    """Return the claims of an ID token for a user's code or refresh grant."""
    client = request.client
    session = request.session
    assert session is not None and request.subject is not None
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject_for(client, request.subject),
        "aud": client.client_id,
        "exp": now + client.identity_token_lifetime,
        "iat": now,
        "auth_time": session.auth_time,
        "at_hash": token_hash(access_token, algorithm),
        "sid": session.session_id,
        "amr": list(session.amr),
    }
    if request.nonce:  # set by a code exchange only: an ID token from a refresh has none
        claims["nonce"] = request.nonce
    for name, value in user_claims.items():
        claims.setdefault(name, value)
    return claims
