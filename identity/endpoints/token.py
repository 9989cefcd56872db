"""The token endpoint: parse -> authenticate -> validate -> generate -> render.

Spec: RFC 6749 §3.2, §4.1.3, §4.4, §5, §6. The client credentials path writes nothing to the
database; codes and refresh tokens are consumed with one conditional update.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from identity import clock, signals, usage
from identity.conf import identity_settings
from identity.cors import with_cors
from identity.endpoints.caller import authenticated_client
from identity.endpoints.forms import read_form
from identity.endpoints.guard import protocol_errors
from identity.endpoints.issuer import get_issuer
from identity.errors import MethodNotAllowed
from identity.rendering import json_response
from identity.responses.token import TokenIssuer, create_token_response
from identity.stores import (
    get_grant_store,
    get_resource_store,
    get_user_store,
)
from identity.tokens.keys import get_key_ring
from identity.validation.token_request import TokenContext, validate_token_request

logger = logging.getLogger(__name__)


@csrf_exempt
@sensitive_post_parameters("client_secret", "code", "refresh_token", "code_verifier", "password")
@with_cors("POST")
@protocol_errors
def token_endpoint(http: HttpRequest) -> HttpResponse:
    """Issue tokens to authenticated clients."""
    if http.method != "POST":
        raise MethodNotAllowed("POST")
    params = read_form(http)
    client = authenticated_client(http, params)
    usage.note_client_use(client.client_id)
    now = clock.now()
    grants, users = get_grant_store(), get_user_store()
    request = validate_token_request(params, client, TokenContext(
        get_resource_store(), grants, users, now, identity_settings.REFRESH_TOKEN_REUSE_GRACE))
    body = create_token_response(request, TokenIssuer(
        get_issuer(http), get_key_ring(), grants, users, now,
        identity_settings.ACCESS_TOKEN_STATIC_AUDIENCE))
    signals.token_issued.send(token_endpoint, client_id=client.client_id,
                              grant_type=request.grant_type, scopes=request.scopes)
    logger.debug("token issued client_id=%s grant_type=%s", client.client_id, request.grant_type)
    return json_response(body)
