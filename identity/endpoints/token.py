"""The token endpoint: parse -> authenticate -> validate -> generate -> render.

Spec: RFC 6749 §3.2, §4.1.3, §4.4, §5, §6. The client credentials path writes nothing to the
database; a code or refresh token is consumed with one conditional update, in the same transaction
that stores what replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from identity import clock, signals, usage
from identity.conf import identity_settings
from identity.constants import GrantType
from identity.domain.client import Client
from identity.domain.requests import ValidatedTokenRequest
from identity.endpoints.caller import authenticated_client
from identity.endpoints.guard import back_channel
from identity.endpoints.issuer import get_issuer
from identity.errors import OAuthError
from identity.rendering import json_response
from identity.responses.token import TokenIssuer, create_token_response
from identity.stores import (
    get_grant_store,
    get_resource_store,
    get_user_store,
)
from identity.tokens.keys import get_key_ring
from identity.validation.params import check_grant_value
from identity.validation.token_request import TokenContext, validate_token_request

logger = logging.getLogger(__name__)
# Grants that consume a stored handle: redeemed in one transaction with what replaces them.
REDEEMED_GRANTS = frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN})


@back_channel("client_secret", "code", "refresh_token", "code_verifier", "password", cors=True)
def token_endpoint(http: HttpRequest, params: Mapping[str, str]) -> HttpResponse:
    """Issue tokens to authenticated clients."""
    check_grant_value(params, identity_settings.INPUT_LENGTHS,
                      default_max_length=identity_settings.DEFAULT_INPUT_LENGTH)
    client = authenticated_client(http, params)
    usage.note_client_use(client.client_id)
    now = clock.now()
    grants, users = get_grant_store(), get_user_store()
    context = TokenContext(get_resource_store(), grants, users, now,
                           identity_settings.REFRESH_TOKEN_REUSE_GRACE)
    issuer = TokenIssuer(get_issuer(http), get_key_ring(), grants, users, now,
                         identity_settings.ACCESS_TOKEN_STATIC_AUDIENCE)
    if params.get("grant_type") in REDEEMED_GRANTS:
        request, body = _redeem(params, client, context, issuer)
    else:
        request = validate_token_request(params, client, context)
        body = create_token_response(request, issuer)
    signals.token_issued.send(token_endpoint, client_id=client.client_id,
                              grant_type=request.grant_type, scopes=request.scopes)
    logger.debug("token issued client_id=%s grant_type=%s", client.client_id, request.grant_type)
    return json_response(body)


def _redeem(params: Mapping[str, str], client: Client, context: TokenContext,
            issuer: TokenIssuer) -> tuple[ValidatedTokenRequest, dict[str, Any]]:
    """Consume a code or refresh token and store what replaces it in one transaction.

    Apart, a database lost between the two would burn the grant and lose its successor, which
    the client never received. A refusal commits: what a replay revoked must stay revoked.
    Failures are not counted: handles are 256 random bits, and a client retrying a redemption
    must get invalid_grant, never 429.
    """
    for algorithm in identity_settings.SIGNING_ALGORITHMS:
        issuer.ring.signing_key(algorithm)  # a first key is created for good, not rolled back
    refused: OAuthError | None = None
    with transaction.atomic():
        try:
            request = validate_token_request(params, client, context)
            body = create_token_response(request, issuer)
        except OAuthError as err:
            refused = err
    if refused is not None:
        raise refused
    return request, body
