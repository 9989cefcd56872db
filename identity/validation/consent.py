"""What a person consents to: the scopes shown, which of them they may untick, and the request
narrowed to their choice.

Spec: OpenID Connect Core §3.1.2.4; RFC 6749 §3.3 (the server may grant less than asked, and
says so in the token response's `scope`); IdentityServer's `Required` and `Emphasize`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from identity.constants import StandardScope
from identity.domain.requests import ValidatedAuthorizeRequest
from identity.domain.resources import Resources
from identity.validation.scopes import granted_resources

ScopeKind = Literal["identity", "api", "offline"]


@dataclass(frozen=True, slots=True)
class ScopeChoice:
    """One line of the consent form."""

    name: str
    display_name: str
    description: str
    required: bool
    emphasize: bool
    kind: ScopeKind


def scope_choices(request: ValidatedAuthorizeRequest) -> list[ScopeChoice]:
    """Return the requested scopes as the consent form shows them: identity scopes first."""
    return choices_for(request.scopes, request.resources)


def choices_for(scopes: tuple[str, ...], resources: Resources) -> list[ScopeChoice]:
    """Return `scopes` as a consent form shows them (the consent page, the device page)."""
    choices = [ScopeChoice(r.name, r.display_name or r.name, r.description or "",
                           # An OpenID request without `openid` would not be one.
                           r.required or r.name == StandardScope.OPENID, r.emphasize, "identity")
               for r in resources.identity_resources if r.name in scopes]
    choices += [ScopeChoice(s.name, s.display_name or s.name, s.description or "", s.required,
                            s.emphasize, "api")
                for s in resources.api_scopes if s.name in scopes]
    if StandardScope.OFFLINE_ACCESS in scopes:
        choices.append(ScopeChoice(StandardScope.OFFLINE_ACCESS, "Offline access",
                                   "Keep access while you are away", False, False, "offline"))
    return choices


def chosen_scopes(scopes: tuple[str, ...], resources: Resources,
                  chosen: Collection[str]) -> tuple[str, ...]:
    """Return the scopes the person kept, in order: the required ones always, the others when
    ticked. Names not asked for are ignored (a form can be edited)."""
    kept = {c.name for c in choices_for(scopes, resources) if c.required or c.name in chosen}
    return tuple(s for s in scopes if s in kept)


def consented_scopes(request: ValidatedAuthorizeRequest,
                     chosen: Collection[str]) -> tuple[str, ...]:
    """Return the requested scopes the person kept, in the request's order: the required ones
    always, the others when ticked. Names not requested are ignored (a form can be edited)."""
    return chosen_scopes(request.scopes, request.resources, chosen)


def narrowed(request: ValidatedAuthorizeRequest,
             granted: Collection[str]) -> ValidatedAuthorizeRequest:
    """Return the request limited to the scopes granted (a subset of those asked for)."""
    scopes = tuple(s for s in request.scopes if s in granted)
    if scopes == request.scopes:
        return request
    return replace(request, scopes=scopes,
                   resources=granted_resources(request.resources, scopes))
