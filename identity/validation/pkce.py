"""Proof Key for Code Exchange.

Spec: RFC 7636 §4.1-4.6. Verifier and challenge: 43-128 characters of [A-Z a-z 0-9 - . _ ~].
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

from identity.domain.client import Client
from identity.errors import InvalidGrant, InvalidRequest

S256: Final = "S256"
PLAIN: Final = "plain"
# Used with fullmatch: with match, "$" would also accept a trailing newline.
_SHAPE: Final = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def validate_challenge(client: Client, challenge: str | None,
                       method: str | None) -> tuple[str | None, str | None]:
    """Check the authorize request's challenge against the client's PKCE settings."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        if client.require_pkce or not client.require_client_secret:
            raise InvalidRequest("code_challenge is required (PKCE)")
        return None, None
    method = method or PLAIN
    if method not in (S256, PLAIN):
        raise InvalidRequest("code_challenge_method must be S256 or plain")
    if method == PLAIN and not client.allow_plain_text_pkce:
        raise InvalidRequest("code_challenge_method plain is not allowed for this client; "
                             "use S256")
    if not _SHAPE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~")
    return challenge, method


def verify(verifier: str | None, challenge: str | None, method: str | None) -> None:
    """Check the token request's verifier against the code's challenge, in constant time."""
    if challenge is None:
        if verifier is not None:  # a downgrade: the code was issued without PKCE
            raise InvalidGrant("code_verifier sent for a code issued without code_challenge")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is missing")
    if not _SHAPE.fullmatch(verifier):
        raise InvalidGrant("code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~")
    if method == S256:
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        computed = verifier
    if not hmac.compare_digest(computed.encode(), challenge.encode()):
        raise InvalidGrant("code_verifier does not match the code_challenge")
