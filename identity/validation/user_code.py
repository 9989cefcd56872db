"""User codes of the device flow: short, unambiguous, typed by people on another screen.

Spec: RFC 8628 §6.1 (at least ~2^32 possibilities when attempts are limited; no characters that
look alike; case-insensitive input; separators ignored). The default alphabet is 20 consonants
(no vowels, so no words; no 0/O or 1/I): 8 of them give 20^8, about 2^34.6, shown XXXX-XXXX.
IdentityServer's `Numeric` gives 9 digits (about 2^29.9). A code is looked up by the SHA-256 of
its normalised form, which the database store keys with SECRET_KEY before storing it (with so few
possible codes, a plain hash would give live codes away to anyone holding a database dump).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

from identity.constants import UserCodeType

LETTERS: Final = "BCDFGHJKLMNPQRSTVWXZ"
LETTERS_LENGTH: Final = 8
NUMERIC_LENGTH: Final = 9
# Characters people type between groups, or that copy and paste brings along.
_IGNORED: Final = frozenset(" -\t\u00a0\u2010\u2011\u2012\u2013\u2014")
KNOWN_TYPES: Final = frozenset(t.value for t in UserCodeType)


def new_user_code(kind: str | None) -> str:
    """Return a fresh user code of the client's UserCodeType, as it is shown."""
    if kind == UserCodeType.NUMERIC:
        return "".join(secrets.choice("0123456789") for _ in range(NUMERIC_LENGTH))
    letters = "".join(secrets.choice(LETTERS) for _ in range(LETTERS_LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


def normalise(typed: str) -> str:
    """Return a typed code without separators and in upper case, as it is hashed."""
    return "".join(ch for ch in typed if ch not in _IGNORED).upper()


def user_code_key(typed: str) -> str:
    """Return the storage key of a user code, whatever its case and separators."""
    return hashlib.sha256(normalise(typed).encode("utf-8")).hexdigest()


def user_code_type_problem(kind: str | None) -> str | None:
    """Say what is wrong with a client's UserCodeType, or None when it is known (or empty)."""
    if not kind or kind in KNOWN_TYPES:
        return None
    return (f"{kind!r} is not a user code type; use {UserCodeType.NUMERIC} (9 digits) or "
            f"{UserCodeType.LETTERS} (8 letters, the default when empty).")
