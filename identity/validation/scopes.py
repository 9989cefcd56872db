"""Scope parsing and resolution against the client and the resource store.

Spec: RFC 6749 §3.3 (syntax), IdentityServer's rule that an absent scope means every API scope
the client is allowed.
"""

from __future__ import annotations

import re
from typing import Final

from identity.constants import StandardScope
from identity.domain.client import Client
from identity.domain.resources import Resources
from identity.errors import InvalidScope
from identity.stores.interfaces import ResourceStore

# Scopes that only make sense with a user: the standard identity scopes and offline_access.
_USER_SCOPES: Final = frozenset(s.value for s in StandardScope)
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # NQCHAR, RFC 6749 §3.3


def parse_scope(value: str | None) -> tuple[str, ...]:
    """Split a scope parameter into distinct names, in order, checking the syntax."""
    if value is None:
        return ()
    names = tuple(dict.fromkeys(value.split(" ")))
    for name in names:
        if not _SCOPE_TOKEN.fullmatch(name):  # match() with $ would let a final newline by
            raise InvalidScope("the scope parameter is malformed")
    return names


def resolve_api_scopes(requested: tuple[str, ...], client: Client,
                       store: ResourceStore) -> tuple[tuple[str, ...], Resources]:
    """Resolve the API scopes of a request without a user; identity scopes are refused.

    With no scope requested, every enabled API scope the client is allowed is granted.
    """
    allowed = set(client.allowed_scopes)
    not_allowed = [s for s in requested if s not in allowed]
    if not_allowed:
        raise InvalidScope(f"the client may not request {' '.join(not_allowed)}")
    found = store.find_resources_by_scope_names(requested or client.allowed_scopes)
    user_scopes = _USER_SCOPES | {r.name for r in found.identity_resources}
    if any(s in user_scopes for s in requested):
        raise InvalidScope("identity scopes and offline_access need a user; this grant has none")
    enabled = {s.name for s in found.api_scopes if s.enabled}
    wanted = requested or tuple(s for s in client.allowed_scopes if s not in user_scopes)
    granted = tuple(s for s in wanted if s in enabled)
    if requested and len(granted) != len(requested):
        missing = [s for s in requested if s not in enabled]
        raise InvalidScope(f"unknown or disabled scope: {' '.join(missing)}")
    if not granted:
        raise InvalidScope("no API scope is allowed for this client")
    return granted, granted_resources(found, granted)


def still_allowed(scopes: tuple[str, ...], client: Client,
                  store: ResourceStore) -> tuple[tuple[str, ...], Resources]:
    """Keep the scopes of an earlier grant that the current configuration still allows.

    A scope stays while the client lists it and it exists and is enabled; `offline_access`
    while AllowOfflineAccess is on; identity scopes only while `openid` stays. Returns the
    scopes kept, in order, and the resources found for all of `scopes`.
    Spec: RFC 6749 §3.3 (the server may grant less than asked, by its policy).
    """
    found = store.find_resources_by_scope_names(scopes)
    identity = {r.name for r in found.identity_resources if r.enabled}
    existing = identity | {s.name for s in found.api_scopes if s.enabled}
    allowed = set(client.allowed_scopes)
    kept = tuple(s for s in scopes if (s in allowed and s in existing) or (
        s == StandardScope.OFFLINE_ACCESS and client.allow_offline_access))
    if StandardScope.OPENID not in kept:  # identity scopes mean nothing without openid
        kept = tuple(s for s in kept if s not in identity)
    return kept, found


def resolve_user_scopes(scopes: tuple[str, ...], store: ResourceStore) -> Resources:
    """Return the enabled resources behind scopes granted to a user (no checks: already done)."""
    return granted_resources(store.find_resources_by_scope_names(scopes), scopes)


def granted_resources(found: Resources, names: tuple[str, ...]) -> Resources:
    """Keep the enabled identity resources and API scopes named, and the enabled API resources
    that own one of those scopes (the access token's audiences)."""
    wanted = set(names)
    api = {s.name for s in found.api_scopes if s.enabled and s.name in wanted}
    return Resources(
        identity_resources=tuple(r for r in found.identity_resources
                                 if r.enabled and r.name in wanted),
        api_scopes=tuple(s for s in found.api_scopes if s.name in api),
        api_resources=tuple(r for r in found.api_resources
                            if r.enabled and not api.isdisjoint(r.scopes)))
