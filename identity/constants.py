"""Protocol names and IdentityServer enumerations, the only home of bare protocol strings."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final


class GrantType(StrEnum):
    """Grant types a client may be allowed (IdentityServer `GrantType`, plus `refresh_token`)."""

    IMPLICIT = "implicit"
    HYBRID = "hybrid"
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    PASSWORD = "password"
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
    CIBA = "urn:openid:params:grant-type:ciba"
    REFRESH_TOKEN = "refresh_token"


class StandardScope(StrEnum):
    """OpenID Connect standard scopes (OIDC Core §5.4) and `offline_access` (§11)."""

    OPENID = "openid"
    PROFILE = "profile"
    EMAIL = "email"
    ADDRESS = "address"
    PHONE = "phone"
    OFFLINE_ACCESS = "offline_access"


class SecretType(StrEnum):
    """IdentityServer `SecretTypes`."""

    SHARED_SECRET = "SharedSecret"
    X509_THUMBPRINT = "X509Thumbprint"
    X509_NAME = "X509Name"
    X509_CERTIFICATE_BASE64 = "X509CertificateBase64"
    JWK = "JWK"


# IdentityServer's C# enum members keep their C# names: the JSON document uses them verbatim.
class TokenUsage(IntEnum):
    """`RefreshTokenUsage`: reuse a refresh token, or rotate it on every use."""

    ReUse = 0
    OneTimeOnly = 1


class TokenExpiration(IntEnum):
    """`RefreshTokenExpiration`: sliding or absolute refresh-token lifetime."""

    Sliding = 0
    Absolute = 1


class AccessTokenType(IntEnum):
    """`AccessTokenType`: self-contained JWT or reference (opaque handle)."""

    Jwt = 0
    Reference = 1


class DPoPTokenExpirationValidationMode(IntEnum):
    """Duende `DPoPValidationMode` (a flags enum in C#)."""

    Custom = 0
    Iat = 1
    Nonce = 2
    IatAndNonce = 3


PROTOCOL_OIDC: Final = "oidc"
PROTOCOL_TYPES: Final = frozenset({"oidc", "wsfed", "saml2p"})
CLIENT_CLAIMS_PREFIX: Final = "client_"
CLAIM_VALUE_TYPE_STRING: Final = "string"
# A client property (IdentityServer's free-form Properties): "true" puts the jti of its JWT
# access tokens on a deny list when they are revoked, at the cost of one lookup per check.
REVOCABLE_JWT_PROPERTY: Final = "RevocableJwtAccessTokens"
# Client Property: the URL of the client's key set (RFC 7591 jwks_uri), for private_key_jwt and
# request objects beside its JWK secrets.
JWKS_URI_PROPERTY: Final = "JwksUri"
SIGNING_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)

# Grant types that need the client to authenticate with a secret (IdentityServer's
# DefaultClientConfigurationValidator; Duende 7.3 made it mandatory for client_credentials).
GRANTS_REQUIRING_SECRET: Final = frozenset({GrantType.CLIENT_CREDENTIALS})
# Grant types whose tokens travel through a redirect URI.
GRANTS_REQUIRING_REDIRECT: Final = frozenset(
    {GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT, GrantType.HYBRID}
)
# Pairs IdentityServer refuses: either would allow a response_type downgrade attack.
FORBIDDEN_GRANT_COMBINATIONS: Final = (
    frozenset({GrantType.IMPLICIT, GrantType.AUTHORIZATION_CODE}),
    frozenset({GrantType.IMPLICIT, GrantType.HYBRID}),
    frozenset({GrantType.AUTHORIZATION_CODE, GrantType.HYBRID}),
)


class ClientAuthMethod(StrEnum):
    """Token endpoint client authentication methods (RFC 8414 §2, OIDC Core §9)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    PRIVATE_KEY_JWT = "private_key_jwt"
    NONE = "none"


class TokenType(StrEnum):
    """Token types of responses and hints (RFC 6749 §7.1, RFC 7009 §2.1)."""

    BEARER = "Bearer"
    DPOP = "DPoP"
    ACCESS_TOKEN = "access_token"
    REFRESH_TOKEN = "refresh_token"


# Parameter names (RFC 6749 Appendix A).
GRANT_TYPE: Final = "grant_type"
CLIENT_ID: Final = "client_id"
CLIENT_SECRET: Final = "client_secret"
SCOPE: Final = "scope"
JWT_ACCESS_TOKEN_TYPE: Final = "at+jwt"  # RFC 9068 §2.1
DEVICE_CODE: Final = "device_code"  # RFC 8628 §3.4
USER_CODE: Final = "user_code"  # RFC 8628 §3.3


class UserCodeType(StrEnum):
    """IdentityServer's `UserCodeType` values: how the device flow's user codes look.

    `Numeric` is IdentityServer's constant (9 digits); `Letters` is this server's default when
    the client names none: 8 consonants, easy to read and type (RFC 8628 §6.1).
    """

    NUMERIC = "Numeric"
    LETTERS = "Letters"


# RFC 8628 §3.2: the interval a device waits between polls when the client sets none, and what
# a slow_down adds to it (§3.5).
DEFAULT_POLLING_INTERVAL: Final = 5
SLOW_DOWN_INCREMENT: Final = 5
