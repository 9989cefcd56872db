"""PKCE (RFC 7636) verifier and S256 challenge pairs."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass


def s256(verifier: str) -> str:
    """Return the S256 challenge of `verifier`: BASE64URL(SHA256(verifier)), unpadded (§4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Pkce:
    """A code verifier and its S256 challenge, as a client holds them during one code flow."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """Return a fresh pair: a random 64-character verifier and its challenge."""
        return cls.of(secrets.token_urlsafe(48))

    @classmethod
    def of(cls, verifier: str) -> Pkce:
        """Return `verifier` with its challenge (any text: tests send malformed verifiers)."""
        return cls(verifier, s256(verifier))
