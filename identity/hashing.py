"""Shared-secret hashing as IdentityServer stores it: Base64 of SHA-256 or SHA-512, no salt.

Spec: IdentityServer `HashExtensions.Sha256()` and `HashedSharedSecretValidator`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Final

from identity.constants import SecretType
from identity.domain.client import Secret

SHA256_STORED_LENGTH: Final = 44  # len(base64(32 bytes))
SHA512_STORED_LENGTH: Final = 88  # len(base64(64 bytes))
_DIGESTS: Final = {32: hashlib.sha256, 64: hashlib.sha512}


def hash_secret(plaintext: str, algorithm: str = "sha256") -> str:
    """Return the stored form of `plaintext`, the equivalent of `"secret".Sha256()`."""
    digest = hashlib.new(algorithm, plaintext.encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_secret() -> str:
    """Return a new random secret of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def stored_digest(stored: str) -> bytes | None:
    """Decode a stored hash, or return None when it is not a SHA-256/SHA-512 Base64 value."""
    try:
        raw = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) in _DIGESTS else None


def is_hashed_secret(stored: str) -> bool:
    """Tell whether `stored` looks like IdentityServer's hashed shared secret."""
    return stored_digest(stored) is not None


def verify_shared_secret(presented: str, candidates: Iterable[Secret]) -> bool:
    """Check `presented` against every candidate shared secret, in constant time per candidate.

    The caller passes only unexpired secrets. Every candidate is compared, so the time taken does
    not tell which one matched.
    """
    presented_bytes = presented.encode("utf-8")
    computed: dict[int, bytes] = {}
    matched = False
    for secret in candidates:
        if secret.type != SecretType.SHARED_SECRET:
            continue
        expected = stored_digest(secret.value)
        if expected is None:
            continue
        size = len(expected)
        if size not in computed:
            computed[size] = _DIGESTS[size](presented_bytes).digest()
        matched |= hmac.compare_digest(computed[size], expected)
    return matched
