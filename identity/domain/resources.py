"""Scopes and resources as the protocol sees them (IdentityServer `Resource` family)."""

from __future__ import annotations

from dataclasses import dataclass

from identity.constants import StandardScope
from identity.domain.client import Secret


@dataclass(frozen=True, slots=True)
class IdentityResource:
    """A set of user claims requested by an identity scope such as `profile`."""

    name: str
    display_name: str | None = None
    description: str | None = None
    enabled: bool = True
    required: bool = False
    emphasize: bool = False
    show_in_discovery_document: bool = True
    user_claims: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApiScope:
    """A scope a client can request to call an API."""

    name: str
    display_name: str | None = None
    description: str | None = None
    enabled: bool = True
    required: bool = False
    emphasize: bool = False
    show_in_discovery_document: bool = True
    user_claims: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApiResource:
    """An API: the audience of tokens carrying its scopes, and an introspection caller."""

    name: str
    display_name: str | None = None
    description: str | None = None
    enabled: bool = True
    show_in_discovery_document: bool = True
    scopes: tuple[str, ...] = ()
    api_secrets: tuple[Secret, ...] = ()
    user_claims: tuple[str, ...] = ()
    allowed_access_token_signing_algorithms: tuple[str, ...] = ()
    require_resource_indicator: bool = False
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Resources:
    """Everything a resource store holds, or the subset a request names."""

    identity_resources: tuple[IdentityResource, ...] = ()
    api_scopes: tuple[ApiScope, ...] = ()
    api_resources: tuple[ApiResource, ...] = ()

    def scope_names(self) -> frozenset[str]:
        """Return every requestable scope name, `offline_access` included."""
        names = {r.name for r in self.identity_resources} | {s.name for s in self.api_scopes}
        return frozenset(names | {StandardScope.OFFLINE_ACCESS})


# The standard identity resources (OIDC Core §5.4), as IdentityServer's
# `IdentityResources.OpenId()`, `.Profile()`, ... define them.
STANDARD_IDENTITY_RESOURCES: tuple[IdentityResource, ...] = (
    IdentityResource(
        name=StandardScope.OPENID, display_name="Your user identifier", required=True,
        user_claims=("sub",),
    ),
    IdentityResource(
        name=StandardScope.PROFILE, display_name="User profile",
        description="Your user profile information (first name, last name, etc.)",
        emphasize=True,
        user_claims=(
            "name", "family_name", "given_name", "middle_name", "nickname",
            "preferred_username", "profile", "picture", "website", "gender", "birthdate",
            "zoneinfo", "locale", "updated_at",
        ),
    ),
    IdentityResource(
        name=StandardScope.EMAIL, display_name="Your email address", emphasize=True,
        user_claims=("email", "email_verified"),
    ),
    IdentityResource(
        name=StandardScope.ADDRESS, display_name="Your postal address", emphasize=True,
        user_claims=("address",),
    ),
    IdentityResource(
        name=StandardScope.PHONE, display_name="Your phone number", emphasize=True,
        user_claims=("phone_number", "phone_number_verified"),
    ),
)
