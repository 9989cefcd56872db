"""Logout tokens for back-channel logout: who signed out, of which session, for which client.

Spec: OpenID Connect Back-Channel Logout 1.0 §2.4 (claims), §2.5 (no nonce), §4 (typ).
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from identity.tokens.jwt import sign
from identity.tokens.keys import KeyRing

LOGOUT_TOKEN_TYPE: Final = "logout+jwt"
BACK_CHANNEL_LOGOUT_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"


def logout_token_claims(issuer: str, client_id: str, subject: str, session_id: str | None,
                        now: int, lifetime: int) -> dict[str, Any]:
    """Return the claims of a logout token: a fresh `jti` each time, never a `nonce`."""
    claims: dict[str, Any] = {
        "iss": issuer, "aud": client_id, "iat": now, "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16), "events": {BACK_CHANNEL_LOGOUT_EVENT: {}},
        "sub": subject,
    }
    if session_id:
        claims["sid"] = session_id
    return claims


def mint_logout_token(ring: KeyRing, claims: dict[str, Any]) -> str:
    """Sign logout token claims with the key that signs ID tokens."""
    return sign(claims, ring.signing_key(), LOGOUT_TOKEN_TYPE)
