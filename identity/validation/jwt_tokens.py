"""Check JWTs this server issued: our keys, our issuer, the expected type, the time window.

Spec: RFC 9068 §4 (validating JWT access tokens); RFC 7519 §4.1.4-4.1.5 (exp, nbf);
OpenID Connect RP-Initiated Logout §2 (id_token_hint may be expired).
"""

from __future__ import annotations

import time
from typing import Any

from identity.errors import InvalidToken
from identity.tokens.jws import JwsError, verify
from identity.tokens.keys import KeyRing


def decode_own_jwt(token: str, ring: KeyRing, issuer: str, *, typ: str | None,
                   verify_exp: bool = True, leeway: int = 0) -> dict[str, Any]:
    """Return the claims of a JWT signed by one of our published keys, or raise InvalidToken."""
    try:
        header, claims = verify(token, ring.verification_keys())
    except JwsError as exc:
        raise InvalidToken("the token is malformed or not signed by this server",
                           detail=str(exc)) from None
    if typ is not None and str(header.get("typ", "")).lower() not in (typ, f"application/{typ}"):
        raise InvalidToken("the token is not of the expected type")
    if claims.get("iss") != issuer or "iat" not in claims:
        raise InvalidToken("the token was not issued here")
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if verify_exp and (not isinstance(exp, int | float) or exp <= now - leeway):
        raise InvalidToken("the token has expired")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now + leeway):
        raise InvalidToken("the token is not valid yet")
    return claims
