"""The checks every access token's claims pass, however they were obtained: from a verified JWT
(RFC 9068 §4) or from the introspection endpoint (RFC 7662 §2.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity.contrib.rest_framework.conf import ResourceServerSettings
from identity.contrib.rest_framework.failures import _InvalidToken


def _time(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _InvalidToken(f"the token's '{name}' is not a number")
    return float(value)


def check_claims(claims: Mapping[str, Any], settings: ResourceServerSettings, now: float, *,
                 require_exp: bool, allow_bound: bool = False) -> None:
    """Raise _InvalidToken unless the claims come from our issuer, are meant for this API, are
    within their lifetime (give or take LEEWAY seconds) and are not bound to a key.

    `allow_bound` lets a sender-constrained token (`cnf`) through: the caller then checks the
    proof of its key itself (DPoP, see authentication.py)."""
    issuer = claims.get("iss")
    if issuer != settings.issuer and (require_exp or issuer is not None):
        # A JWT must name its issuer; an introspection answer may leave it out (it comes from
        # the issuer itself), but a wrong one is refused either way.
        raise _InvalidToken("the token comes from another issuer")
    expires = _time(claims, "exp")
    if expires is None:
        if require_exp:
            raise _InvalidToken("the token has no expiry")
    elif now >= expires + settings.leeway:
        raise _InvalidToken("the token has expired")
    not_before = _time(claims, "nbf")
    if not_before is not None and now < not_before - settings.leeway:
        raise _InvalidToken("the token is not valid yet")
    issued = _time(claims, "iat")
    if issued is not None and now < issued - settings.leeway:
        raise _InvalidToken("the token was issued in the future")
    if settings.audiences is not None and not _audience_matches(claims.get("aud"),
                                                                settings.audiences):
        raise _InvalidToken("the token is not meant for this API")
    if "cnf" in claims and not allow_bound:
        # RFC 9449 §7.1 / RFC 8705 §3: a token bound to a key (DPoP, mTLS) is only good with
        # proof of that key; presented as a plain bearer token, it was taken.
        raise _InvalidToken("the token is sender-constrained and cannot be used as Bearer")


def _audience_matches(aud: object, wanted: frozenset[str]) -> bool:
    if isinstance(aud, str):
        return aud in wanted
    if isinstance(aud, list):
        return any(isinstance(a, str) and a in wanted for a in aud)
    return False


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """Return the token's scopes: `scope` as a space-separated string (RFC 9068 §2.2.3), or as
    a list, which some servers write."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list):
        return frozenset(s for s in scope if isinstance(s, str))
    return frozenset()
