"""The token request pipeline: select the grant, validate, redeem, issue.

Spec: RFC 6749 §4 and §5.2. Parameters a grant does not declare are dropped before validation.
A grant that redeems a stored handle (a code, a refresh token) is validated, redeemed and
issued in one transaction: apart, a database lost between the steps would burn the grant and
lose its successor, which the client never received. A refusal commits too: what a replay
revoked must stay revoked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from identity.constants import GRANT_TYPE
from identity.domain.client import Client
from identity.domain.device import CONSUME_DEVICE
from identity.domain.requests import Redemption, ValidatedTokenRequest
from identity.errors import (
    GrantReplayed,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from identity.grants.families import family_of, forgiven, revoke_replayed
from identity.grants.handler import GrantHandler, TokenRequestContext
from identity.grants.issuing import issue_tokens
from identity.grants.registry import GRANT_HANDLERS
from identity.validation.client_support import unsupported_problems


def select_grant(params: Mapping[str, str], client: Client) -> GrantHandler:
    """Return the handler of the request's `grant_type`, once the client may use it."""
    unsupported = unsupported_problems(client)
    if unsupported:  # fail closed: never issue tokens as if those properties were off
        raise UnauthorizedClient(
            "the client's configuration uses features this server does not support yet",
            detail="; ".join(p.describe(client.client_id) for p in unsupported))
    grant_type = params.get(GRANT_TYPE)
    if grant_type is None:
        raise InvalidRequest("grant_type is missing")
    handler = GRANT_HANDLERS.get(grant_type)
    if handler is None:
        raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
    if not handler.client_may_use(client):
        raise UnauthorizedClient(f"the client may not use {grant_type}")
    return handler


def handle_token_request(params: Mapping[str, str], client: Client,
                         context: TokenRequestContext
                         ) -> tuple[ValidatedTokenRequest, dict[str, Any]]:
    """Run an authenticated client's token request; return it validated, and the response body."""
    handler = select_grant(params, client)
    used = {name: value for name, value in params.items() if name in handler.parameters}
    if handler.redeems is None:
        request = handler.validate(used, client, context)
        return request, issue_tokens(request, handler.issues, context)
    for algorithm in context.ring.algorithms:
        context.ring.signing_key(algorithm)  # a first key is created for good, not rolled back
    refused: OAuthError | None = None
    with transaction.atomic():
        try:
            request = handler.validate(used, client, context)
            if request.redemption is not None:
                redeem(request.redemption, context)
            body = issue_tokens(request, handler.issues, context)
        except GrantReplayed as replay:
            revoke_replayed(context.grants, replay.key, replay.family, client.client_id)
            refused = replay
        except OAuthError as err:
            refused = err
    if refused is not None:
        raise refused
    return request, body


def redeem(redemption: Redemption, context: TokenRequestContext) -> None:
    """Apply a valid request's change to the grant it presented; raise when it lost a race.

    Consuming is a conditional update: of concurrent redemptions exactly one wins. A loser is a
    replay, unless it falls within the grace period of the winner (concurrent refreshes).
    """
    grants = context.grants
    if redemption.action == "consume" and not grants.consume(redemption.key, context.now):
        current = grants.get(redemption.key)
        if forgiven(current.consumed if current else None, context.now, redemption.grace):
            return
        raise GrantReplayed(redemption.refusal, key=redemption.key,
                            family=family_of(current) if current else redemption.family,
                            detail="used concurrently")
    elif redemption.action == "remove":
        grants.remove(redemption.key)
    elif redemption.action == CONSUME_DEVICE:
        if context.devices is None or not context.devices.consume(redemption.key, context.now):
            raise InvalidGrant(redemption.refusal, detail="device code used concurrently")
