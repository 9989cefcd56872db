"""Every error class of the server: the one family of protocol errors (`OAuthError`), rendered
in one place per response style (identity.http.rendering), and the errors of reading
configuration documents and of verifying and decrypting keys.

Spec: RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, OpenID Connect Core §3.1.2.6.
`description` is sent to the client; `detail` goes to the logs only.
"""

from __future__ import annotations

import re
from typing import ClassVar

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_UNSAFE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


class OAuthError(Exception):
    """A protocol error with its RFC code, HTTP status and an optional description."""

    error: ClassVar[str] = "invalid_request"
    status: int = 400  # an instance may change it (DPoP errors at a resource are 401)
    redirectable: ClassVar[bool] = True

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(description or self.error)
        self.description = _UNSAFE.sub("?", description) if description else None
        self.detail = detail
        self.headers: dict[str, str] = {}


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2: missing, repeated, malformed or unsupported parameter."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed."""

    error = "invalid_client"
    status = 401
    redirectable = False

    def __init__(self, description: str | None = None, *, detail: str | None = None,
                 www_authenticate: str | None = None) -> None:
        super().__init__(description, detail=detail)
        if www_authenticate:
            self.headers["WWW-Authenticate"] = www_authenticate


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: grant or refresh token invalid, expired, revoked or another client's."""

    error = "invalid_grant"


class GrantReplayed(InvalidGrant):
    """A code or rotated refresh token presented again after it was used.

    Raised by a grant's validation, which never writes; the grant pipeline then revokes the
    grant and its family (RFC 9700 §4.2.4, §4.14.2) and answers `invalid_grant`.
    """

    def __init__(self, description: str, *, key: str, family: str,
                 detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.key = key
        self.family = family


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not yet approved or denied the device's request."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: the device polls faster than its interval, which grows by 5 seconds."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code expired before the user decided; start again."""

    error = "expired_token"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1: this kind of token cannot be revoked here."""

    error = "unsupported_token_type"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: the client may not use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2: the server does not support this grant type."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2: scope unknown, malformed, or beyond what the client may have."""

    error = "invalid_scope"


class TooManyRequests(OAuthError):
    """Repeated authentication failures: retry later (RFC 6585 §4, with Retry-After)."""

    error = "invalid_request"
    status = 429
    redirectable = False

    def __init__(self, retry_after: int,
                 description: str = "too many failed attempts; retry later") -> None:
        super().__init__(description)
        self.headers["Retry-After"] = str(retry_after)


class MethodNotAllowed(OAuthError):
    """The endpoint does not accept this HTTP method (RFC 9110 §15.5.6)."""

    error = "invalid_request"
    status = 405
    redirectable = False

    def __init__(self, allowed: str) -> None:
        super().__init__(f"use {allowed}")
        self.headers["Allow"] = allowed


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1: an unexpected condition; details only in the logs."""

    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1: a dependency (database, cache) is down; retry later."""

    error = "temporarily_unavailable"
    status = 503


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: the server does not support this response_type."""

    error = "unsupported_response_type"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: the user or the server denied the request."""

    error = "access_denied"


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: prompt=none, but the user must sign in."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: prompt=none, but the user must consent."""

    error = "consent_required"


class RequestNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6: request objects are not supported."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6: request_uri is not supported."""

    error = "request_uri_not_supported"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is missing, expired, revoked or malformed."""

    error = "invalid_token"
    status = 401
    redirectable = False

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        value = 'Bearer error="invalid_token"'
        if self.description:
            value += f', error_description="{self.description}"'
        self.headers["WWW-Authenticate"] = value


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: no bearer token at all (or another scheme): a bare challenge, since the
    client may not have known that authentication was needed."""

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description)
        self.headers["WWW-Authenticate"] = "Bearer"


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token lacks a scope the resource needs."""

    error = "insufficient_scope"
    status = 403
    redirectable = False

    def __init__(self, scope: str) -> None:
        super().__init__(f"the {scope} scope is required")
        self.headers["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{scope}"'



class InvalidRequestUri(OAuthError):
    """RFC 9101 §6.2, RFC 9126 §4: the request_uri is unknown, expired, used or another
    client's."""

    error = "invalid_request_uri"
    redirectable = False


class InvalidRequestObject(OAuthError):
    """RFC 9101 §6.2: the request object does not verify or its claims are wrong."""

    error = "invalid_request_object"
    redirectable = False


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5, §7.1: the DPoP proof is missing, malformed, replayed or for another key.

    At a resource (`resource=True`) it is a 401 with a DPoP challenge (§7.1).
    """

    error = "invalid_dpop_proof"

    def __init__(self, description: str | None = None, *, detail: str | None = None,
                 resource: bool = False) -> None:
        super().__init__(description, detail=detail)
        if resource:
            self.status = 401
            self.headers["WWW-Authenticate"] = dpop_challenge(self.error, self.description)


class UseDPoPNonce(OAuthError):
    """RFC 9449 §8-9: a proof must carry the server's nonce, sent in the DPoP-Nonce header."""

    error = "use_dpop_nonce"

    def __init__(self, nonce: str, *, resource: bool = False) -> None:
        super().__init__("the DPoP proof must carry the server's nonce")
        self.headers["DPoP-Nonce"] = nonce
        if resource:
            self.status = 401
            self.headers["WWW-Authenticate"] = dpop_challenge(self.error, self.description)


class DPoPBoundToken(InvalidToken):
    """RFC 9449 §7.2: a DPoP-bound token presented as a bearer token, or a proof for another
    key: refused with a DPoP challenge."""

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.headers["WWW-Authenticate"] = dpop_challenge(self.error, self.description)


def dpop_challenge(error: str, description: str | None) -> str:
    """Return the `WWW-Authenticate: DPoP` challenge of RFC 9449 §7.1."""
    value = f'DPoP algs="RS256 PS256 ES256", error="{error}"'
    if description:
        value += f', error_description="{description}"'
    return value


# Errors outside the protocol: reading configuration documents, verifying and decrypting keys.
class JwsError(ValueError):
    """The token is malformed or its signature does not verify."""


class CacheUnavailable(Exception):
    """The shared cache failed earlier in this request; it is not asked again in it."""


class KeyDecryptionError(Exception):
    """A stored private key cannot be decrypted with the configured secret."""


class ConfigDocumentError(ValueError):
    """The document cannot be used; `problems` says where and what to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class JsonTextError(ValueError):
    """The text cannot be read; the message names the source, line and column."""


# Dynamic client registration (RFC 7591 §3.2.2, RFC 7592).
class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: one or more redirection URIs are invalid."""

    error = "invalid_redirect_uri"
    redirectable = False


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a metadata field is invalid, unsupported or refused by the policy."""

    error = "invalid_client_metadata"
    redirectable = False


class UnapprovedSoftwareStatement(OAuthError):
    """RFC 7591 §3.2.2: the software statement is not approved here (none is supported)."""

    error = "unapproved_software_statement"
    redirectable = False
