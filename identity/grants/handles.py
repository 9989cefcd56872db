"""Handles: the random strings clients hold (codes, refresh and reference tokens).

Spec: RFC 6749 §10.10 (guessing a handle must be infeasible: 256 random bits); RFC 9700 §4.14
(stored only as a hash, so that a read of the table yields nothing a client could present).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

HANDLE_BYTES: Final = 32


def new_handle() -> str:
    """Return a fresh handle: 256 random bits, base64url."""
    return secrets.token_urlsafe(HANDLE_BYTES)


def handle_key(handle: str) -> str:
    """Return the storage key of a handle: its SHA-256, hex."""
    return hashlib.sha256(handle.encode("utf-8")).hexdigest()
