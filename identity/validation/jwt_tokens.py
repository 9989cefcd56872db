"""Check JWTs this server issued: our keys, our issuer, the expected type.

Spec: RFC 9068 §4 (validating JWT access tokens); OpenID Connect RP-Initiated Logout §2
(id_token_hint may be expired).
"""

from __future__ import annotations

from typing import Any

import jwt

from identity.errors import InvalidToken
from identity.tokens.keys import KeyRing


def decode_own_jwt(token: str, ring: KeyRing, issuer: str, *, typ: str | None,
                   verify_exp: bool = True, leeway: int = 0) -> dict[str, Any]:
    """Return the claims of a JWT signed by one of our published keys, or raise InvalidToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("the token is malformed") from None
    if typ is not None and str(header.get("typ", "")).lower() not in (typ, f"application/{typ}"):
        raise InvalidToken("the token is not of the expected type")
    key = next((k for k in ring.public_keys() if k.kid == header.get("kid")), None)
    if key is None or header.get("alg") != key.algorithm:
        raise InvalidToken("the token is not signed by this server")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, jwt.PyJWK(key.public_jwk).key, algorithms=[key.algorithm], issuer=issuer,
            leeway=leeway, options={"verify_aud": False, "verify_exp": verify_exp,
                                    "require": ["iss", "iat"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is invalid or expired", detail=str(exc)) from None
    return claims
