"""The token endpoint: parse -> authenticate -> validate -> generate -> render.

Spec: RFC 6749 §3.2, §4.4, §5. Nothing on this path writes to the database.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from identity import clock, signals, throttling, usage
from identity.conf import identity_settings
from identity.cors import with_cors
from identity.endpoints.forms import read_form
from identity.endpoints.guard import protocol_errors
from identity.endpoints.issuer import get_issuer
from identity.errors import InvalidClient, MethodNotAllowed
from identity.rendering import json_response
from identity.responses.token import create_token_response
from identity.stores import get_client_store, get_resource_store
from identity.tokens.keys import get_key_ring
from identity.validation.client_auth import authenticate_client, extract_credentials
from identity.validation.token_request import validate_token_request

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
    credentials = extract_credentials(params, http.headers.get("Authorization"))
    address = throttling.client_address(http)
    throttling.check_not_locked(credentials.client_id, address)
    try:
        client = authenticate_client(credentials, get_client_store(), clock.now())
    except InvalidClient as err:
        throttling.record_failure(credentials.client_id, address)
        signals.client_authentication_failed.send(
            token_endpoint, client_id=credentials.client_id, address=address, reason=err.detail)
        raise
    usage.note_client_use(client.client_id)
    request = validate_token_request(params, client, get_resource_store())
    body = create_token_response(request, get_issuer(http), int(time.time()), get_key_ring(),
                                 identity_settings.ACCESS_TOKEN_STATIC_AUDIENCE)
    signals.token_issued.send(token_endpoint, client_id=client.client_id,
                              grant_type=request.grant_type, scopes=request.scopes)
    logger.info("token issued client_id=%s grant_type=%s", client.client_id, request.grant_type)
    return json_response(body)
