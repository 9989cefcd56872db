"""JWT access tokens (RFC 9068) verified locally: header, signature, then claims.

The header is read before anything is trusted only to pick the key: the algorithm must be one
the API allows (so 'none' and HMAC never get through, whatever the token says), the type must
be `at+jwt` (so an ID token or any other JWT signed by the same keys is not taken for an access
token, RFC 9068 §4), and critical extensions, which this code understands none of, are refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final

from identity.contrib.rest_framework.claims import check_claims
from identity.contrib.rest_framework.conf import ResourceServerSettings
from identity.contrib.rest_framework.failures import _InvalidToken
from identity.contrib.rest_framework.jwk import b64url
from identity.contrib.rest_framework.keys import KeyStore

ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})


class JwtValidator:
    """Verify compact JWS access tokens against one authority's keys."""

    def __init__(self, settings: ResourceServerSettings, keys: KeyStore,
                 wall: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._keys = keys
        self._algorithms = settings.algorithms
        self._wall = wall

    def validate(self, token: str, *, allow_bound: bool = False) -> dict[str, Any]:
        """Return the token's claims; raise _InvalidToken (or _Unavailable when the keys cannot
        be had). A token with `cnf` is refused unless `allow_bound` (see check_claims)."""
        parts = token.split(".")
        if len(parts) != 3:
            raise _InvalidToken("the token is not a signed JWT")
        encoded_header, encoded_payload, encoded_signature = parts
        try:
            header = json.loads(b64url(encoded_header))
            signature = b64url(encoded_signature)
            signed = f"{encoded_header}.{encoded_payload}".encode("ascii")
        except (ValueError, RecursionError):  # bad base64, bad JSON, non-ASCII, too deep
            raise _InvalidToken("the token is malformed") from None
        if not isinstance(header, dict):
            raise _InvalidToken("the token is malformed")
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise _InvalidToken("the token's signing algorithm is not accepted")
        token_type = header.get("typ")
        if not isinstance(token_type, str) or token_type.lower() not in ACCESS_TOKEN_TYPES:
            raise _InvalidToken("the token is not a JWT access token (typ at+jwt)")
        if "crit" in header:
            raise _InvalidToken("the token has critical header parameters")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _InvalidToken("the token is malformed")
        if not self._keys.check_for(kid, algorithm)(signature, signed):
            raise _InvalidToken("the token's signature does not verify")
        try:
            claims = json.loads(b64url(encoded_payload))
        except (ValueError, RecursionError):
            raise _InvalidToken("the token is malformed") from None
        if not isinstance(claims, dict):
            raise _InvalidToken("the token is malformed")
        check_claims(claims, self._settings, self._wall(), require_exp=True,
                     allow_bound=allow_bound)
        return claims
