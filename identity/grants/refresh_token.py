"""The refresh token grant.

Spec: RFC 6749 §6 (scope may narrow, never widen; bound to the client); RFC 9700 §4.14.2
(rotation, and revocation of the whole family when a rotated token is used again).

A refresh grants only what the client's configuration still allows (`still_allowed`): scopes
removed from the client, deleted or disabled are dropped. Asking for one of them explicitly is
`invalid_scope` (RFC 6749 §5.2: the request exceeds what was granted; §6: no scope not
originally granted); a token left with nothing but `offline_access` is `invalid_grant` (§5.2:
the grant no longer authorizes anything, whatever the request said).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from identity.constants import SCOPE, GrantType, StandardScope, TokenUsage
from identity.domain.client import Client
from identity.domain.grants import GRANT_REFRESH_TOKEN
from identity.domain.requests import Redemption, UserSession, ValidatedTokenRequest
from identity.domain.resources import Resources
from identity.errors import (
    GrantReplayed,
    InvalidDPoPProof,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
)
from identity.grants import records
from identity.grants.families import family_of, forgiven
from identity.grants.handler import ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN, TokenRequestContext
from identity.grants.handles import handle_key
from identity.validation.scopes import granted_resources, parse_scope, still_allowed

_INVALID: Final = "the refresh token is invalid, expired or revoked"


class RefreshTokenGrant:
    """`grant_type=refresh_token`."""

    grant_type: Final = GrantType.REFRESH_TOKEN.value
    parameters: Final = frozenset({"refresh_token", SCOPE})
    redeems: Final = GRANT_REFRESH_TOKEN
    issues: Final = frozenset({ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN})

    def client_may_use(self, client: Client) -> bool:
        """Never listed in AllowedGrantTypes: AllowOfflineAccess implies it (IdentityServer)."""
        return client.allow_offline_access

    def validate(self, params: Mapping[str, str], client: Client,
                 context: TokenRequestContext) -> ValidatedTokenRequest:
        """Exchange a refresh token of this client for new tokens."""
        token = params.get("refresh_token")
        if token is None:
            raise InvalidRequest("refresh_token is missing")
        key = handle_key(token)
        grant = context.grants.get(key)
        if grant is None or grant.type != GRANT_REFRESH_TOKEN:
            raise InvalidGrant(_INVALID)
        if grant.client_id != client.client_id:
            raise InvalidGrant(_INVALID, detail=f"token of {grant.client_id!r} presented by "
                                                f"{client.client_id!r}")
        if grant.is_expired(context.now):
            raise InvalidGrant(_INVALID, detail="expired")
        if not context.users.is_active(grant.subject_id):
            raise InvalidGrant("the user is no longer active")
        data = records.refresh_data(grant)
        if data.dpop_jkt is not None and context.dpop_jkt != data.dpop_jkt:
            # RFC 9449 §5: a public client's refresh token needs its DPoP key's proof.
            raise InvalidDPoPProof("the refresh token is bound to another DPoP key"
                                   if context.dpop_jkt else "the refresh token is bound to a "
                                   "DPoP key: send a DPoP proof")
        scopes, kept, found = _scopes(parse_scope(params.get(SCOPE)), data.scopes, client,
                                      context)
        presented: str | None = token
        if kept != data.scopes:
            # The grant as the configuration now allows it: the next refresh token carries
            # this scope, so re-adding a scope to the client does not bring it back.
            data = replace(data, scopes=kept)
            if client.refresh_token_usage == TokenUsage.ReUse:
                presented = None  # a ReUse token is replaced once by one with the new scope
        family = family_of(grant)
        action = "keep"
        if client.refresh_token_usage == TokenUsage.OneTimeOnly:
            action = "consume"
            if grant.consumed is not None:
                if not forgiven(grant.consumed, context.now, context.refresh_reuse_grace):
                    raise GrantReplayed(_INVALID, key=key, family=family,
                                        detail="reuse of a rotated refresh token")
                action = "keep"  # concurrent refreshes within the grace period both succeed
        elif presented is None:
            action = "remove"
        return ValidatedTokenRequest(
            client=client, grant_type=self.grant_type, scopes=scopes,
            resources=granted_resources(found, scopes), subject=grant.subject_id,
            session=UserSession(grant.subject_id, data.auth_time, grant.session_id, data.amr),
            grant=grant, presented_refresh_token=presented, refreshed=data,
            redemption=Redemption(key=key, family=family, refusal=_INVALID, action=action,
                                  grace=context.refresh_reuse_grace))


def _scopes(requested: tuple[str, ...], granted: tuple[str, ...], client: Client,
            context: TokenRequestContext
            ) -> tuple[tuple[str, ...], tuple[str, ...], Resources]:
    """Return the scopes to issue, the token's scopes still allowed, and their resources."""
    wider = [s for s in requested if s not in granted]
    if wider:
        raise InvalidScope(f"a refresh cannot add scopes: {' '.join(wider)}")
    kept, found = still_allowed(granted, client, context.resources)
    withdrawn = [s for s in requested if s not in kept]
    if withdrawn:
        raise InvalidScope(f"no longer allowed for this client: {' '.join(withdrawn)}")
    if not any(s != StandardScope.OFFLINE_ACCESS for s in kept):
        raise InvalidGrant("the refresh token no longer grants any scope",
                           detail=f"withdrawn: {' '.join(granted)}")
    scopes = requested or kept
    if StandardScope.OFFLINE_ACCESS not in scopes:
        scopes = (*scopes, StandardScope.OFFLINE_ACCESS.value)
    return scopes, kept, found
