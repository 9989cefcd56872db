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

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from identity.constants import SCOPE, GrantType, StandardScope, TokenUsage
from identity.domain.client import Client
from identity.domain.grants import GRANT_REFRESH_TOKEN
from identity.domain.requests import UserSession, ValidatedTokenRequest
from identity.domain.resources import Resources
from identity.errors import InvalidGrant, InvalidRequest, InvalidScope
from identity.validation.grants.authorization_code import handle_key
from identity.validation.scopes import granted_resources, parse_scope, still_allowed

if TYPE_CHECKING:
    from identity.validation.token_request import TokenContext

logger = logging.getLogger(__name__)
GRANT_TYPE: Final = GrantType.REFRESH_TOKEN
PARAMETERS: Final = frozenset({"refresh_token", SCOPE})
_INVALID: Final = "the refresh token is invalid, expired or revoked"


def handle(params: Mapping[str, str], client: Client,
           context: TokenContext) -> ValidatedTokenRequest:
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
    granted = tuple(grant.data["scopes"])
    scopes, kept, found = _scopes(parse_scope(params.get(SCOPE)), granted, client, context)
    presented: str | None = token
    if kept != granted:
        # The grant as the configuration now allows it: the next refresh token carries this
        # scope, so re-adding a scope to the client does not bring it back to this family.
        grant = replace(grant, data={**grant.data, "scopes": list(kept)})
        if client.refresh_token_usage == TokenUsage.ReUse:
            presented = None  # a ReUse token is replaced once by one with the narrowed scope
    # Last, so that a refused request does not burn the token.
    if client.refresh_token_usage == TokenUsage.OneTimeOnly:
        if grant.consumed is not None or not context.grants.consume(key, context.now):
            _reused(context, key, grant, client)
    elif presented is None:
        context.grants.remove(key)
    data = grant.data
    return ValidatedTokenRequest(
        client=client, grant_type=GRANT_TYPE, scopes=scopes,
        resources=granted_resources(found, scopes), subject=grant.subject_id,
        session=UserSession(grant.subject_id, data["auth_time"], grant.session_id,
                            tuple(data.get("amr", ("pwd",)))),
        grant=grant, presented_refresh_token=presented)


def _scopes(requested: tuple[str, ...], granted: tuple[str, ...], client: Client,
            context: TokenContext) -> tuple[tuple[str, ...], tuple[str, ...], Resources]:
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


def _reused(context: TokenContext, key: str, grant: object, client: Client) -> None:
    current = context.grants.get(key)
    consumed = current.consumed if current is not None else None
    grace = timedelta(seconds=context.refresh_reuse_grace)
    if consumed is not None and grace and context.now - consumed <= grace:
        return  # concurrent refreshes within the grace window: both succeed
    family = current.family if current is not None else key
    # The presented token goes first: a concurrent winner that finds its parent gone revokes
    # the successor it is storing (responses.token.revoke_if_parent_gone).
    context.grants.remove(key)
    removed = context.grants.remove_family(family or key)
    logger.warning("rotated refresh token reused by client %s: %d grants revoked",
                   client.client_id, removed)
    raise InvalidGrant(_INVALID, detail="reuse of a rotated refresh token")
