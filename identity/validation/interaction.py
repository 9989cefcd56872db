"""Decide whether the user must sign in or consent before a code is issued.

Spec: OpenID Connect Core §3.1.2.1 (prompt, max_age), §3.1.2.6 (login_required,
consent_required); IdentityServer's UserSsoLifetime and RequireConsent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from identity.domain.grants import Consent
from identity.domain.requests import SignInRequirement, UserSession, ValidatedAuthorizeRequest
from identity.errors import ConsentRequired, LoginRequired

# The parameter of the login page's return URL that names the sign-in asked for.
SIGN_IN_TICKET: Final = "sign_in_ticket"
# Left out of the request digest: the ticket itself, and prompt, which a ticket only relaxes.
_UNBOUND_PARAMETERS: Final = frozenset({SIGN_IN_TICKET, "prompt"})


class Interaction(StrEnum):
    """What the authorize endpoint must do next."""

    LOGIN = "login"
    CONSENT = "consent"
    NONE = "none"


def next_interaction(request: ValidatedAuthorizeRequest, session: UserSession | None, now: int,
                     remembered: Consent | None, one_time_consent: bool,
                     fresh_sign_in: bool = False) -> Interaction:
    """Return the next step; with prompt=none, raise instead of asking the user.

    `fresh_sign_in` tells that the session is a sign-in made for this request after it asked
    for one (see `is_fresh_sign_in`): it satisfies prompt=login, max_age and UserSsoLifetime.
    """
    silent = "none" in request.prompt
    if _needs_login(request, session, now, fresh_sign_in):
        if silent:
            raise LoginRequired("the user must sign in")
        return Interaction.LOGIN
    if _needs_consent(request, remembered, one_time_consent, now):
        if silent:
            raise ConsentRequired("the user must consent")
        return Interaction.CONSENT
    return Interaction.NONE


def request_digest(params: Mapping[str, str]) -> str:
    """Return a digest naming one authorize request, to bind a sign-in requirement to it."""
    bound = sorted((k, v) for k, v in params.items() if k not in _UNBOUND_PARAMETERS)
    return hashlib.sha256(json.dumps(bound).encode("utf-8")).hexdigest()[:32]


def session_digest(session: UserSession | None) -> str:
    """Return a digest of the sign-in `session` ("" for none), safe to show in a URL."""
    if session is None:
        return ""
    return hashlib.sha256(session.session_id.encode("utf-8")).hexdigest()[:32]


def require_sign_in(ticket_id: str, session: UserSession | None, now: int,
                    digest: str) -> SignInRequirement:
    """Ask for a sign-in made after `now`, other than `session`, for the request `digest`."""
    return SignInRequirement(ticket_id=ticket_id, issued_at=now,
                             stale_session=session_digest(session), request_digest=digest)


def is_fresh_sign_in(requirement: SignInRequirement | None, session: UserSession | None,
                     digest: str, used: Collection[str]) -> bool:
    """Tell whether `session` satisfies `requirement` for the request `digest`.

    Spec: OpenID Connect Core §3.1.2.1 (prompt=login asks for reauthentication).
    """
    if requirement is None or session is None or requirement.ticket_id in used:
        return False
    # auth_time has whole seconds: the session digest tells a sign-in made just before the
    # request, in the same second, from the one made for it.
    return (hmac.compare_digest(requirement.request_digest, digest)
            and session.auth_time >= requirement.issued_at
            and not hmac.compare_digest(requirement.stale_session, session_digest(session)))


def _needs_login(request: ValidatedAuthorizeRequest, session: UserSession | None,
                 now: int, fresh_sign_in: bool) -> bool:
    if session is None:
        return True
    if fresh_sign_in:  # asked once: the sign-in made for this request is not asked again
        return False
    if request.prompt & {"login", "select_account"}:
        return True
    age = now - session.auth_time
    if request.max_age is not None and age > request.max_age:
        return True
    sso = request.client.user_sso_lifetime
    return sso is not None and age > sso


def _needs_consent(request: ValidatedAuthorizeRequest, remembered: Consent | None,
                   one_time_consent: bool, now: int) -> bool:
    if one_time_consent:
        return False
    if "consent" in request.prompt:
        return True
    if not request.client.require_consent:
        return False
    moment = datetime.fromtimestamp(now, UTC)
    return remembered is None or not remembered.covers(request.scopes, moment)
