"""Signed JWTs with the key ring's current key (RFC 7519, RFC 7515)."""

from __future__ import annotations

from typing import Any

import jwt

from identity.tokens.keys import LoadedKey


def sign(claims: dict[str, Any], key: LoadedKey, typ: str) -> str:
    """Return the compact JWS of `claims`, with `kid` and `typ` in the header."""
    return jwt.encode(claims, key.private, algorithm=key.algorithm,
                      headers={"kid": key.kid, "typ": typ})
