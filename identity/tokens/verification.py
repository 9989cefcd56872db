"""Check JWTs this server issued: our keys, our issuer, the expected type, the time window.

Spec: RFC 9068 §4 (validating JWT access tokens); RFC 7519 §4.1.4-4.1.5 (exp, nbf);
OpenID Connect RP-Initiated Logout §2 (id_token_hint may be expired).
"""

from __future__ import annotations

from typing import Any, Final

from identity import clock
from identity.errors import InvalidToken
from identity.tokens.jws import JwsError, verify
from identity.tokens.keys import KeyRing

# `typ` values of ID tokens (RFC 7515 §4.1.9 allows the media type form too).
_ID_TOKEN_TYPES: Final = frozenset({"jwt", "application/jwt"})


def decode_own_jwt(token: str, ring: KeyRing, issuer: str, *, typ: str | None,
                   verify_exp: bool = True, leeway: int = 0) -> dict[str, Any]:
    """Return the claims of a JWT signed by one of our published keys, or raise InvalidToken."""
    header, claims = _decode(token, ring, issuer, verify_exp=verify_exp, leeway=leeway)
    if typ is not None and str(header.get("typ", "")).lower() not in (typ, f"application/{typ}"):
        raise InvalidToken("the token is not of the expected type")
    return claims


def decode_id_token_hint(token: str, ring: KeyRing, issuer: str) -> dict[str, Any]:
    """Return the claims of an ID token we issued, expired or not, or raise InvalidToken.

    Spec: RP-Initiated Logout 1.0 §2 (id_token_hint: an ID token, possibly expired); OpenID
    Connect Core §2 (`aud` names the client); RFC 9068 §2.1, §4 (access tokens are typed
    `at+jwt`, so that nothing takes one for an ID token). Ours are typed `JWT`; an untyped
    token must at least not have the `scope` and `client_id` of an access token.
    """
    header, claims = _decode(token, ring, issuer, verify_exp=False, leeway=0)
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in _ID_TOKEN_TYPES:
        raise InvalidToken("the token is not an ID token", detail=f"typ {typ!r}")
    if not isinstance(claims.get("aud"), str) or not isinstance(claims.get("sub"), str):
        raise InvalidToken("the token is not an ID token", detail="aud or sub is not a string")
    if typ is None and ("scope" in claims or "client_id" in claims):
        raise InvalidToken("the token is not an ID token", detail="shaped as an access token")
    return claims


def _decode(token: str, ring: KeyRing, issuer: str, *, verify_exp: bool,
            leeway: int) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header, claims = verify(token, ring.verification_keys())
    except JwsError as exc:
        raise InvalidToken("the token is malformed or not signed by this server",
                           detail=str(exc)) from None
    if claims.get("iss") != issuer or "iat" not in claims:
        raise InvalidToken("the token was not issued here")
    now = clock.now().timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if verify_exp and (not isinstance(exp, int | float) or exp <= now - leeway):
        raise InvalidToken("the token has expired")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now + leeway):
        raise InvalidToken("the token is not valid yet")
    return header, claims
