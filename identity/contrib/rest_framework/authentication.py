"""The DRF authentication class: `Authorization: Bearer <access token>` (RFC 6750 §2.1), and
`Authorization: DPoP <access token>` with a `DPoP` proof header (RFC 9449 §7.1).

No Bearer or DPoP header: `authenticate` returns None, so the view's other authentication
classes (or none) decide. A Bearer header: the token is accepted, giving a TokenUser, or
refused with a 401 whose challenge says invalid_token (RFC 6750 §3.1). Whatever goes wrong
inside, including the identity server being unreachable, ends as that 401: the token could not
be shown good.

A token bound to a DPoP key (`cnf.jkt`) is good only with the DPoP scheme and a proof by that
key (dpop.py checks the proof). Sent as Bearer it was taken from its owner: 401 with a DPoP
challenge, error="invalid_token" (RFC 9449 §7.2). With the DPoP scheme, a bad proof, or one by
another key than the token's, is error="invalid_dpop_proof"; a bad token, or one bound to no
DPoP key, error="invalid_token".
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from rest_framework.authentication import (  # type: ignore[import-untyped, unused-ignore]
    BaseAuthentication,
)
from rest_framework.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    AuthenticationFailed,
)

from identity.contrib.rest_framework.conf import get_settings
from identity.contrib.rest_framework.dpop import DPOP_ALGORITHMS, _InvalidProof, verify_proof
from identity.contrib.rest_framework.failures import _InvalidToken, _Unavailable
from identity.contrib.rest_framework.principal import TokenUser
from identity.contrib.rest_framework.validation import get_validator

logger = logging.getLogger("identity.contrib.rest_framework")

# RFC 6750 §2.1 b64token; what a reference token must look like before it is sent anywhere.
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_CHALLENGE_ATTRIBUTE: Final = "_identity_challenge"
_BEARER: Final = "Bearer"
_DPOP: Final = "DPoP"
INVALID_TOKEN: Final = "invalid_token"
INVALID_DPOP_PROOF: Final = "invalid_dpop_proof"
_DPOP_ALGS: Final = " ".join(sorted(DPOP_ALGORITHMS))


@dataclass(frozen=True, slots=True)
class _Challenge:
    """What the 401 of a refused request says: its scheme, RFC 6750 / RFC 9449 error code
    and description."""

    scheme: str
    error: str
    description: str


def _challenge_text(text: str) -> str:
    # A quoted-string may not hold quotes or backslashes unescaped; ours never need them.
    return text.replace("\\", "").replace('"', "'")


def _well_formed(token: str) -> bool:
    return bool(token) and (token.count(".") == 2 or bool(_TOKEN68.fullmatch(token)))


def dpop_key_of(claims: Mapping[str, Any]) -> str | None:
    """Return the thumbprint the token is bound to (`cnf.jkt`, RFC 9449 §6), or None."""
    confirmation = claims.get("cnf")
    if not isinstance(confirmation, Mapping):
        return None
    jkt = confirmation.get("jkt")
    return jkt if isinstance(jkt, str) and jkt else None


def _dpop_bound(claims: Mapping[str, Any]) -> bool:
    token_type = claims.get("token_type")  # an introspection answer's (RFC 7662 §2.2)
    return dpop_key_of(claims) is not None or (
        isinstance(token_type, str) and token_type.lower() == "dpop")


class IdentityTokenAuthentication(BaseAuthentication):  # type: ignore[misc, unused-ignore]
    """Authenticate requests that carry one of the identity server's access tokens, as a
    bearer token or as a DPoP-bound token with its proof."""

    def authenticate(self, request: Any) -> tuple[TokenUser, dict[str, Any]] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer":
            return self._bearer(request, token.strip())
        if scheme.lower() == "dpop":
            return self._dpop(request, token.strip())
        return None  # Basic, ...: another class's business

    def _bearer(self, request: Any, token: str) -> tuple[TokenUser, dict[str, Any]]:
        if not _well_formed(token):
            self._refuse(request, "the Authorization header does not hold a bearer token")
        claims = self._validate(request, token, _BEARER)
        if _dpop_bound(claims):
            self._refuse(request, "the token is bound to a DPoP key: send it with the DPoP "
                         "scheme and a proof", scheme=_DPOP)
        if "cnf" in claims:  # bound otherwise (mutual TLS): no proof of it is possible here
            self._refuse(request, "the token is sender-constrained and cannot be used as Bearer")
        return TokenUser.from_claims(claims), claims

    def _dpop(self, request: Any, token: str) -> tuple[TokenUser, dict[str, Any]]:
        if not _well_formed(token):
            self._refuse(request, "the Authorization header does not hold an access token",
                         scheme=_DPOP)
        try:
            # The proof first: it costs no call to the identity server, and its jti is
            # spent whatever becomes of the token.
            thumbprint = verify_proof(request.META.get("HTTP_DPOP"), method=request.method,
                                      url=request.build_absolute_uri(), access_token=token,
                                      settings=get_settings())
        except _InvalidProof as err:
            self._refuse(request, str(err), scheme=_DPOP, error=INVALID_DPOP_PROOF)
        claims = self._validate(request, token, _DPOP)
        bound_to = dpop_key_of(claims)
        if bound_to is None:
            self._refuse(request, "the token is not bound to a DPoP key", scheme=_DPOP)
        if not hmac.compare_digest(bound_to.encode("utf-8"), thumbprint.encode("ascii")):
            self._refuse(request, "the DPoP proof is signed by another key than the token's",
                         scheme=_DPOP, error=INVALID_DPOP_PROOF)
        return TokenUser.from_claims(claims), claims

    def _validate(self, request: Any, token: str, scheme: str) -> dict[str, Any]:
        try:
            return get_validator().validate(token, allow_bound=True)
        except _InvalidToken as err:
            self._refuse(request, str(err), scheme=scheme)
        except _Unavailable as err:
            # Logged for the operator, without the token; the client learns no more than that
            # its token was not accepted.
            logger.error("Could not check an access token: %s", err)
            self._refuse(request, "the token could not be checked", scheme=scheme)

    @staticmethod
    def _refuse(request: Any, description: str, *, scheme: str = _BEARER,
                error: str = INVALID_TOKEN) -> NoReturn:
        setattr(request, _CHALLENGE_ATTRIBUTE, _Challenge(scheme, error, description))
        raise AuthenticationFailed(description, code=error)

    def authenticate_header(self, request: Any) -> str:
        """The challenge of a 401: the realm alone when no token came (RFC 6750 §3.1); with
        error="invalid_token" and a description when a bearer token was refused; a DPoP
        challenge (RFC 9449 §7.1) with its error, the description and the proof algorithms
        when a DPoP request, or a DPoP-bound token sent as Bearer, was."""
        realm = get_settings().realm
        challenge = getattr(request, _CHALLENGE_ATTRIBUTE, None)
        if not isinstance(challenge, _Challenge):
            return f'Bearer realm="{realm}"'
        description = _challenge_text(challenge.description)
        if challenge.scheme == _DPOP:
            return (f'DPoP error="{challenge.error}", error_description="{description}", '
                    f'realm="{realm}", algs="{_DPOP_ALGS}"')
        return (f'Bearer realm="{realm}", error="{challenge.error}", '
                f'error_description="{description}"')
