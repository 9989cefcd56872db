"""Persisted grants as the protocol sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PersistedGrant:
    """A stored grant; `key` is the SHA-256 of its handle, never the handle."""

    key: str
    type: str
    client_id: str
    data: dict[str, Any]
    created: datetime
    expires: datetime | None
    subject_id: str = ""
    session_id: str = ""
    family: str = ""
    consumed: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        """Tell whether the grant is past its expiration at `now`."""
        return self.expires is not None and self.expires <= now


@dataclass(frozen=True, slots=True)
class Consent:
    """The scopes a user let a client have."""

    subject_id: str
    client_id: str
    scopes: tuple[str, ...]
    created: datetime
    expires: datetime | None = None

    def covers(self, scopes: tuple[str, ...], now: datetime) -> bool:
        """Tell whether this consent is current and includes every scope asked for."""
        if self.expires is not None and self.expires <= now:
            return False
        return set(scopes) <= set(self.scopes)


GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_REFERENCE_TOKEN = "reference_token"
GRANT_REVOKED_JTI = "revoked_jti"
# A JWT access token issued from a code or refresh token, named by its jti (or its SHA-256 when
# it has none): kept with the family so that revoking the family puts the JWT on the deny list
# (RFC 9700 §4.2.4), and naming the user behind a pairwise `sub`.
GRANT_ISSUED_JTI = "issued_jti"
