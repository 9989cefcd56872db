"""Validated requests: what a validator hands to a response generator."""

from __future__ import annotations

from dataclasses import dataclass

from identity.domain.client import Client
from identity.domain.grants import PersistedGrant, RefreshTokenData
from identity.domain.resources import Resources


@dataclass(frozen=True, slots=True)
class ValidatedTokenRequest:
    """A token request that passed every check: who asks, for which grant, with which scopes."""

    client: Client
    grant_type: str
    scopes: tuple[str, ...]
    resources: Resources
    subject: str | None = None
    session: UserSession | None = None
    # The grant redeemed (a code or refresh token), for ID tokens and refresh-token families.
    grant: PersistedGrant | None = None
    # The refresh token as presented, returned again when the client's usage is ReUse.
    presented_refresh_token: str | None = None
    # What the redeemed refresh token carried (its family's scope, expiry and claims).
    refreshed: RefreshTokenData | None = None
    # The authorize request's nonce, repeated in the ID token of a code exchange.
    nonce: str | None = None
    # What the pipeline does to the redeemed grant once the request is found valid.
    redemption: Redemption | None = None


@dataclass(frozen=True, slots=True)
class Redemption:
    """The store change a valid request makes to the grant it presents.

    `action`: "consume" marks it used, once (a second use is a replay); "remove" deletes it (a
    ReUse refresh token replaced by a narrowed one); "keep" leaves it (ReUse, or a rotated token
    presented again within the grace period). `grace` seconds forgive a second use that lost a
    race to the first (concurrent refreshes); `family` is what a replay revokes; `refusal` is
    the description a replay is refused with.
    """

    key: str
    family: str
    refusal: str
    action: str = "consume"
    grace: int = 0


@dataclass(frozen=True, slots=True)
class ValidatedAuthorizeRequest:
    """An authorize request whose client, redirect URI and parameters passed every check."""

    client: Client
    redirect_uri: str
    response_mode: str
    scopes: tuple[str, ...]
    resources: Resources
    state: str | None = None
    nonce: str | None = None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    dpop_jkt: str | None = None

    @property
    def is_openid(self) -> bool:
        """Tell whether this is an OpenID Connect request (the openid scope)."""
        return "openid" in self.scopes


@dataclass(frozen=True, slots=True)
class UserSession:
    """Who is signed in: the subject, when and how they authenticated, and the session id."""

    subject_id: str
    auth_time: int
    session_id: str
    amr: tuple[str, ...] = ("pwd",)


@dataclass(frozen=True, slots=True)
class SignInRequirement:
    """A sign-in the authorize endpoint asked for: for one request, made after `issued_at`.

    `stale_session` is the digest of the sign-in current when it was asked for ("" for none):
    that one never satisfies it, even within the same second.
    """

    ticket_id: str
    issued_at: int
    stale_session: str
    request_digest: str
