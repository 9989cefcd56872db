"""Signed request objects: authorization request parameters in a JWT signed by the client.

Spec: RFC 9101 §4 (the object: iss, aud; the parameters as claims), §5 (only its parameters
are used), §6.1-6.3 (checking it; `invalid_request_object`); OpenID Connect Core §6.1. Signed
with RS256, PS256 or ES256 by one of the client's keys; encrypted objects are not supported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from identity.errors import InvalidRequestObject, JwsError
from identity.tokens.client_keys import verify_with
from identity.validation.jwk import CLIENT_ALGORITHMS, ClientKey

CLOCK_SKEW: Final = 60
# Claims about the object itself, not authorization request parameters.
_ENVELOPE: Final = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})


def request_object_params(token: str, client_id: str, keys: Iterable[ClientKey], issuer: str,
                          now: float, algorithms: Iterable[str] = CLIENT_ALGORITHMS
                          ) -> dict[str, str]:
    """Return the parameters of a request object the client signed, as authorize reads them."""

    def bad(reason: str) -> InvalidRequestObject:
        return InvalidRequestObject("the request object is invalid", detail=reason)

    if token.count(".") == 4:
        raise bad("encrypted request objects are not supported")
    try:
        _, claims, _ = verify_with(token, keys, algorithms)
    except JwsError as err:
        raise bad(str(err)) from None
    if claims.get("iss") != client_id:
        raise bad("iss must be the client id")
    aud = claims.get("aud")
    if not (aud == issuer or (isinstance(aud, list) and issuer in aud)):
        raise bad("aud must be the issuer")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    expires, not_before = _number(exp), _number(nbf)
    if expires is None or expires <= now:
        raise bad("exp is missing or past")
    if nbf is not None and (not_before is None or not_before > now + CLOCK_SKEW):
        raise bad("nbf is in the future")
    if claims.get("client_id", client_id) != client_id:
        raise bad("client_id differs from the request's")
    if "request" in claims or "request_uri" in claims:
        raise bad("a request object cannot hold request or request_uri")
    params = {"client_id": client_id}
    for name, value in claims.items():
        if name in _ENVELOPE:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise bad(f"{name} must be a string")
        params[name] = str(value)
    return params


def _number(value: object) -> float | None:
    # Python's JSON reads NaN and Infinity: neither is a time.
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
