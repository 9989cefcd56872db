"""What tests read from issued JWTs without verifying them."""

from __future__ import annotations

import base64
import hashlib


def at_hash(access_token: str) -> str:
    """Return the `at_hash` an ID token must carry for `access_token` with a SHA-256 alg:
    the left half of the hash, base64url, unpadded (OpenID Connect Core §3.1.3.6)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def kid_of(token: str) -> str:
    """Return the `kid` of a JWT's header: which signing key signed it."""
    import jwt

    return str(jwt.get_unverified_header(token)["kid"])
