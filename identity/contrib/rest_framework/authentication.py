"""The DRF authentication class: `Authorization: Bearer <access token>` (RFC 6750 §2.1).

No Bearer header: `authenticate` returns None, so the view's other authentication classes (or
none) decide. A Bearer header: the token is accepted, giving a TokenUser, or refused with a 401
whose challenge says invalid_token (RFC 6750 §3.1). Whatever goes wrong inside, including the
identity server being unreachable, ends as that 401: the token could not be shown good.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final, NoReturn

from rest_framework.authentication import (  # type: ignore[import-untyped, unused-ignore]
    BaseAuthentication,
)
from rest_framework.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    AuthenticationFailed,
)

from identity.contrib.rest_framework.conf import get_settings
from identity.contrib.rest_framework.failures import _InvalidToken, _Unavailable
from identity.contrib.rest_framework.principal import TokenUser
from identity.contrib.rest_framework.validation import get_validator

logger = logging.getLogger("identity.contrib.rest_framework")

# RFC 6750 §2.1 b64token; what a reference token must look like before it is sent anywhere.
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_ERROR_ATTRIBUTE: Final = "_identity_bearer_error"


def _challenge_text(text: str) -> str:
    # A quoted-string may not hold quotes or backslashes unescaped; ours never need them.
    return text.replace("\\", "").replace('"', "'")


class IdentityTokenAuthentication(BaseAuthentication):  # type: ignore[misc, unused-ignore]
    """Authenticate requests that carry one of the identity server's access tokens."""

    def authenticate(self, request: Any) -> tuple[TokenUser, dict[str, Any]] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # Basic, DPoP, ...: another class's business
        token = token.strip()
        try:
            if not token or (token.count(".") != 2 and not _TOKEN68.fullmatch(token)):
                raise _InvalidToken("the Authorization header does not hold a bearer token")
            claims = get_validator().validate(token)
        except _InvalidToken as err:
            self._refuse(request, str(err))
        except _Unavailable as err:
            # Logged for the operator, without the token; the client learns no more than that
            # its token was not accepted.
            logger.error("Could not check an access token: %s", err)
            self._refuse(request, "the token could not be checked")
        return TokenUser.from_claims(claims), claims

    @staticmethod
    def _refuse(request: Any, description: str) -> NoReturn:
        setattr(request, _ERROR_ATTRIBUTE, description)
        raise AuthenticationFailed(description, code="invalid_token")

    def authenticate_header(self, request: Any) -> str:
        """The challenge of a 401: the realm alone when no token came (RFC 6750 §3.1), with
        error="invalid_token" and a description when one was refused."""
        realm = get_settings().realm
        description = getattr(request, _ERROR_ATTRIBUTE, None)
        if description is None:
            return f'Bearer realm="{realm}"'
        return (f'Bearer realm="{realm}", error="invalid_token", '
                f'error_description="{_challenge_text(description)}"')
