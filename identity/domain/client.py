"""The client as the protocol sees it: an immutable value, never a Django model.

Names are IdentityServer's `Client` properties in snake_case; defaults are Duende 7's, except
`refresh_token_usage`, which stays OneTimeOnly (rotation with reuse detection, RFC 9700 §4.14.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from identity.constants import (
    CLAIM_VALUE_TYPE_STRING,
    CLIENT_CLAIMS_PREFIX,
    PROTOCOL_OIDC,
    AccessTokenType,
    DPoPTokenExpirationValidationMode,
    SecretType,
    TokenExpiration,
    TokenUsage,
)


@dataclass(frozen=True, slots=True)
class Secret:
    """A stored secret: for shared secrets, the Base64 of its SHA-256 or SHA-512 hash."""

    value: str
    type: str = SecretType.SHARED_SECRET
    description: str | None = None
    expiration: datetime | None = None

    def has_expired(self, now: datetime) -> bool:
        """Tell whether the secret is past its expiration at `now`."""
        return self.expiration is not None and self.expiration <= now


@dataclass(frozen=True, slots=True)
class ClientClaim:
    """A claim the server adds to the client's tokens (IdentityServer `ClientClaim`)."""

    type: str
    value: str
    value_type: str = CLAIM_VALUE_TYPE_STRING


@dataclass(frozen=True, slots=True)
class Client:
    """An OAuth/OpenID Connect client (IdentityServer `Client`)."""

    client_id: str
    enabled: bool = True
    protocol_type: str = PROTOCOL_OIDC
    client_secrets: tuple[Secret, ...] = ()
    require_client_secret: bool = True
    client_name: str | None = None
    description: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    require_consent: bool = False
    allow_remember_consent: bool = True
    allowed_grant_types: tuple[str, ...] = ()
    require_pkce: bool = True
    allow_plain_text_pkce: bool = False
    require_request_object: bool = False
    allow_access_tokens_via_browser: bool = False
    require_dpop: bool = False
    dpop_validation_mode: DPoPTokenExpirationValidationMode = DPoPTokenExpirationValidationMode.Iat
    dpop_clock_skew: int = 300
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    front_channel_logout_uri: str | None = None
    front_channel_logout_session_required: bool = True
    back_channel_logout_uri: str | None = None
    back_channel_logout_session_required: bool = True
    allow_offline_access: bool = False
    allowed_scopes: tuple[str, ...] = ()
    always_include_user_claims_in_id_token: bool = False
    identity_token_lifetime: int = 300
    allowed_identity_token_signing_algorithms: tuple[str, ...] = ()
    access_token_lifetime: int = 3600
    authorization_code_lifetime: int = 300
    absolute_refresh_token_lifetime: int = 2592000
    sliding_refresh_token_lifetime: int = 1296000
    consent_lifetime: int | None = None
    pushed_authorization_lifetime: int | None = None
    require_pushed_authorization: bool = False
    refresh_token_usage: TokenUsage = TokenUsage.OneTimeOnly
    update_access_token_claims_on_refresh: bool = False
    refresh_token_expiration: TokenExpiration = TokenExpiration.Absolute
    access_token_type: AccessTokenType = AccessTokenType.Jwt
    enable_local_login: bool = True
    identity_provider_restrictions: tuple[str, ...] = ()
    include_jwt_id: bool = True
    claims: tuple[ClientClaim, ...] = ()
    always_send_client_claims: bool = False
    client_claims_prefix: str | None = CLIENT_CLAIMS_PREFIX
    pair_wise_subject_salt: str | None = None
    user_sso_lifetime: int | None = None
    user_code_type: str | None = None
    device_code_lifetime: int = 300
    ciba_lifetime: int | None = None
    polling_interval: int | None = None
    coordinate_lifetime_with_user_session: bool | None = None
    allowed_cors_origins: tuple[str, ...] = ()
    initiate_login_uri: str | None = None
    properties: tuple[tuple[str, str], ...] = field(default=())

    def active_secrets(self, now: datetime) -> tuple[Secret, ...]:
        """Return the secrets not yet expired at `now` (IdentityServer drops expired ones)."""
        return tuple(s for s in self.client_secrets if not s.has_expired(now))
