"""Persisted grants as the protocol sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final


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


# The kinds of persisted grant (`PersistedGrant.type`); `identity.grants.records` builds each and
# reads its typed data back.
GRANT_AUTHORIZATION_CODE: Final = "authorization_code"
GRANT_REFRESH_TOKEN: Final = "refresh_token"
GRANT_REFERENCE_TOKEN: Final = "reference_token"
GRANT_REVOKED_JTI: Final = "revoked_jti"
# A JWT access token issued from a code or refresh token, named by its jti (or its SHA-256 when
# it has none): kept with the family so that revoking the family puts the JWT on the deny list
# (RFC 9700 §4.2.4), and naming the user behind a pairwise `sub`.
GRANT_ISSUED_JTI: Final = "issued_jti"
# A pushed authorization request (RFC 9126), named by the hash of its request_uri's handle.
GRANT_PUSHED_AUTHORIZATION: Final = "pushed_authorization"


@dataclass(frozen=True, slots=True)
class CodeData:
    """What an authorization code remembers of its authorize request and sign-in."""

    redirect_uri: str
    scopes: tuple[str, ...]
    auth_time: int
    amr: tuple[str, ...] = ("pwd",)
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    dpop_jkt: str | None = None  # RFC 9449 §10: the key the token request must prove


@dataclass(frozen=True, slots=True)
class RefreshTokenData:
    """What a refresh token carries from one rotation to the next.

    `scopes` is the family's grant (RFC 6749 §6: a refresh may narrow what it asks, never what
    the next token holds); `absolute_expires` (epoch seconds) bounds the family; `api_claims`
    are the user's claims as first issued, for clients that do not update them on refresh.
    """

    scopes: tuple[str, ...]
    auth_time: int
    amr: tuple[str, ...] = ("pwd",)
    absolute_expires: float | None = None
    api_claims: dict[str, Any] | None = None
    # RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
    dpop_jkt: str | None = None


@dataclass(frozen=True, slots=True)
class PushedRequestData:
    """A pushed authorization request: its parameters, and whether a signed request object
    carried them (RequireRequestObject)."""

    params: dict[str, str]
    signed: bool = False


@dataclass(frozen=True, slots=True)
class ReferenceTokenData:
    """A reference access token: the claims a JWT would have carried, kept server-side."""

    claims: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IssuedJwtData:
    """A JWT access token issued within a grant family (or revoked): its name and expiry."""

    jti: str
    exp: int
