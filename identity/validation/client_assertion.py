"""private_key_jwt: the claims of a client assertion, once its signature has verified.

Spec: RFC 7523 §3 (iss, sub, aud, exp, jti; nbf and iat), §2.2 (client authentication); OpenID
Connect Core §9 (`private_key_jwt`; aud may be the token endpoint URL); FAPI 2.0 §5.3.2.1 (aud is
the issuer). The signature is checked by `identity.tokens.client_keys`; the jti's single use by
the caller, which has the shared store.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, Final

from identity.errors import InvalidClient

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW: Final = 60  # seconds a client's clock may run ahead (nbf, iat)


def failed(detail: str) -> InvalidClient:
    """The one refusal of every assertion problem: the reason goes to the logs only."""
    return InvalidClient("client authentication failed", detail=f"client assertion: {detail}")


def check_assertion_claims(claims: Mapping[str, Any], client_id: str,
                           audiences: Collection[str], now: float,
                           max_lifetime: int, *, string_audience: bool = False
                           ) -> tuple[str, float]:
    """Check a verified assertion's claims; return its (jti, exp) for the replay check.

    With `string_audience`, aud must be a string (FAPI 2.0 §5.3.2.1), not an array.
    """
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise failed("iss and sub must both be the client id")
    aud = claims.get("aud")
    named = [aud] if isinstance(aud, str) else (
        aud if isinstance(aud, list) and not string_audience else [])
    if not any(isinstance(a, str) and a in audiences for a in named):
        raise failed(f"aud must name the issuer or the endpoint, got {aud!r}")
    exp = _number(claims.get("exp"))
    if exp is None:
        raise failed("exp is required")
    if exp <= now:
        raise failed("expired")
    if exp > now + max_lifetime:
        raise failed(f"exp is more than {max_lifetime} s ahead")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        stamp = _number(value)
        if value is not None and (stamp is None or stamp > now + CLOCK_SKEW):
            raise failed(f"{name} is in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise failed("jti is required")
    return jti, exp


def _number(value: Any) -> float | None:
    # Python's JSON reads NaN and Infinity: neither is a time, and NaN compares false both ways.
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    return None
