"""Decide whether the user must sign in or consent before a code is issued.

Spec: OpenID Connect Core §3.1.2.1 (prompt, max_age), §3.1.2.6 (login_required,
consent_required); IdentityServer's UserSsoLifetime and RequireConsent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from identity.domain.grants import Consent
from identity.domain.requests import UserSession, ValidatedAuthorizeRequest
from identity.errors import ConsentRequired, LoginRequired


class Interaction(StrEnum):
    """What the authorize endpoint must do next."""

    LOGIN = "login"
    CONSENT = "consent"
    NONE = "none"


def next_interaction(request: ValidatedAuthorizeRequest, session: UserSession | None, now: int,
                     remembered: Consent | None, one_time_consent: bool) -> Interaction:
    """Return the next step; with prompt=none, raise instead of asking the user."""
    silent = "none" in request.prompt
    if _needs_login(request, session, now):
        if silent:
            raise LoginRequired("the user must sign in")
        return Interaction.LOGIN
    if _needs_consent(request, remembered, one_time_consent, now):
        if silent:
            raise ConsentRequired("the user must consent")
        return Interaction.CONSENT
    return Interaction.NONE


def _needs_login(request: ValidatedAuthorizeRequest, session: UserSession | None,
                 now: int) -> bool:
    # prompt=login is taken out of the URL the login page returns to, so it asks only once.
    if session is None or request.prompt & {"login", "select_account"}:
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
