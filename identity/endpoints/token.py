"""The token endpoint: authenticate the client, then run the grant pipeline.

Spec: RFC 6749 §3.2, §4.1.3, §4.4, §5, §6; RFC 9449 §5 (a DPoP proof binds the tokens).
The client credentials path writes nothing to the database (a DPoP proof's jti aside, on a
server without a shared cache); a code or refresh token is consumed with one conditional update,
in the same transaction that stores what replaces it (`identity.grants.pipeline`). Failed
redemptions are not counted by the brute-force throttle: handles are 256 random bits, and a
client retrying a redemption must get invalid_grant, never 429.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse

from identity import clock, last_used, signals
from identity.conf import identity_settings
from identity.errors import InvalidDPoPProof
from identity.grants.handler import TokenRequestContext
from identity.grants.pipeline import handle_token_request
from identity.http.client_authentication import authenticated_client
from identity.http.dpop import request_proof
from identity.http.frame import back_channel
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.registry import (
    get_device_store,
    get_grant_store,
    get_key_ring,
    get_resource_store,
    get_user_store,
)
from identity.validation.params import check_grant_value

logger = logging.getLogger(__name__)


@back_channel("client_secret", "code", "refresh_token", "code_verifier", "password",
              "device_code", cors=True)
def token_endpoint(http: HttpRequest, params: Mapping[str, str]) -> HttpResponse:
    """Issue tokens to authenticated clients."""
    check_grant_value(params, identity_settings.INPUT_LENGTHS,
                      default_max_length=identity_settings.DEFAULT_INPUT_LENGTH)
    client = authenticated_client(http, params)
    proof = request_proof(http, client)
    if proof is None and client.require_dpop:
        raise InvalidDPoPProof("this client must send a DPoP proof")
    last_used.note_client_use(client.client_id)
    context = TokenRequestContext(
        issuer=get_issuer(http), ring=get_key_ring(), resources=get_resource_store(),
        grants=get_grant_store(), users=get_user_store(), now=clock.now(),
        refresh_reuse_grace=identity_settings.REFRESH_TOKEN_REUSE_GRACE,
        static_audience=identity_settings.ACCESS_TOKEN_STATIC_AUDIENCE,
        dpop_jkt=proof.jkt if proof is not None else None, devices=get_device_store())
    request, body = handle_token_request(params, client, context)
    signals.token_issued.send(token_endpoint, client_id=client.client_id,
                              grant_type=request.grant_type, scopes=request.scopes)
    logger.debug("token issued client_id=%s grant_type=%s", client.client_id, request.grant_type)
    return json_response(body)
