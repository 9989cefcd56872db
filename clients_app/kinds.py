"""Kinds of client the admin starts from (as Duende's templates and Keycloak's client types):
the defaults of each kind and the fields that matter for it; the rest of the form stays folded.

A kind is not stored: an existing client's kind is derived from its grant types, whether it
needs a secret and whether it has CORS origins.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from identity.constants import GrantType, StandardScope
from identity.validation.client_support import SUPPORTED_GRANT_TYPES

COMMON_FIELDS: Final = ("client_id", "client_name", "description", "enabled", "opened_version")
NEW_SECRET: Final = {"generate": True, "description": "first secret"}


@dataclass(frozen=True)
class Kind:
    slug: str
    title: str
    blurb: str
    grant_type: str
    fields: tuple[str, ...] = ()  # client fields shown open, after COMMON_FIELDS
    initial: Mapping[str, Any] = field(default_factory=dict)
    # Initial inline rows by inline prefix; an empty row is one left to fill in.
    rows: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()  # offered as rows when they exist
    inlines: frozenset[str] = frozenset()  # inlines shown open

    @property
    def supported(self) -> bool:
        return not self.grant_type or self.grant_type in SUPPORTED_GRANT_TYPES

    @property
    def open_fields(self) -> tuple[str, ...]:
        return COMMON_FIELDS + self.fields


_INTERACTIVE: Final = frozenset({"allowed_grant_types", "redirect_uris", "allowed_scopes"})
_USER_SCOPES: Final = (StandardScope.OPENID, StandardScope.PROFILE)

KINDS: Final = {k.slug: k for k in (
    Kind("machine", "Machine to machine",
         "A service or script calling an API in its own name, with a secret "
         "(client_credentials).",
         GrantType.CLIENT_CREDENTIALS, ("access_token_lifetime",),
         {"require_client_secret": True, "allow_offline_access": False},
         {"allowed_grant_types": ({"grant_type": GrantType.CLIENT_CREDENTIALS},),
          "client_secrets": (NEW_SECRET,), "allowed_scopes": ({},)},
         inlines=frozenset({"client_secrets", "allowed_grant_types", "allowed_scopes"})),
    Kind("web", "Web application",
         "A server-side application that signs users in and keeps a secret on its server "
         "(authorization code with PKCE).",
         GrantType.AUTHORIZATION_CODE,
         ("allow_offline_access", "require_consent"),
         {"require_client_secret": True, "require_pkce": True, "allow_offline_access": True},
         {"allowed_grant_types": ({"grant_type": GrantType.AUTHORIZATION_CODE},),
          "client_secrets": (NEW_SECRET,), "redirect_uris": ({},)},
         _USER_SCOPES + (StandardScope.OFFLINE_ACCESS,),
         _INTERACTIVE | {"client_secrets"}),
    Kind("spa", "Single-page application",
         "JavaScript in the browser that cannot keep a secret: a public client with PKCE, its "
         "origin allowed for CORS.",
         GrantType.AUTHORIZATION_CODE, ("require_consent",),
         {"require_client_secret": False, "require_pkce": True, "allow_offline_access": False},
         {"allowed_grant_types": ({"grant_type": GrantType.AUTHORIZATION_CODE},),
          "redirect_uris": ({},), "allowed_cors_origins": ({},)},
         _USER_SCOPES, _INTERACTIVE | {"allowed_cors_origins"}),
    Kind("native", "Native application",
         "A desktop or mobile app: a public client with PKCE and a loopback redirect URI "
         "(any port matches, RFC 8252).",
         GrantType.AUTHORIZATION_CODE, ("allow_offline_access", "require_consent"),
         {"require_client_secret": False, "require_pkce": True, "allow_offline_access": True},
         {"allowed_grant_types": ({"grant_type": GrantType.AUTHORIZATION_CODE},),
          "redirect_uris": ({"redirect_uri": "http://127.0.0.1"},)},
         _USER_SCOPES + (StandardScope.OFFLINE_ACCESS,), _INTERACTIVE),
    Kind("device", "Device (TV, console)",
         "An input-constrained device where the user signs in on another screen "
         "(device authorization grant).",
         GrantType.DEVICE_CODE,
         ("allow_offline_access", "user_code_type", "device_code_lifetime", "polling_interval"),
         {"require_client_secret": False, "allow_offline_access": False},
         {"allowed_grant_types": ({"grant_type": GrantType.DEVICE_CODE},),
          "allowed_scopes": ({},)},
         _USER_SCOPES, _INTERACTIVE - {"redirect_uris"}),
    Kind("custom", "Other",
         "Start from an empty form and set every field yourself.", "",
         ("require_client_secret", "require_pkce", "allow_offline_access"), {},
         {"allowed_grant_types": ({},)},
         inlines=frozenset({"client_secrets", "allowed_grant_types", "allowed_scopes"})),
)}


def derive_kind(grant_types: Collection[str], require_client_secret: bool,
                has_cors_origins: bool) -> Kind:
    """Return the kind an existing client looks like ("Other" when none fits)."""
    grants = set(grant_types)
    if grants == {GrantType.CLIENT_CREDENTIALS}:
        return KINDS["machine"]
    if GrantType.DEVICE_CODE in grants:
        return KINDS["device"]
    if grants == {GrantType.AUTHORIZATION_CODE}:
        if require_client_secret:
            return KINDS["web"]
        return KINDS["spa" if has_cors_origins else "native"]
    return KINDS["custom"]
