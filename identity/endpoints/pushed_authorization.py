"""The pushed authorization request endpoint: clients post the authorize parameters first.

Spec: RFC 9126 §2 (the request: authenticated as at the token endpoint; `request_uri` may not be
pushed; a request object may carry the parameters), §2.2 (201 with `request_uri` and
`expires_in`), §2.3 (errors as JSON, at push time); RFC 9449 §10.1 (a DPoP proof, or
`dpop_jkt`, binds the code to a key). The parameters are validated as the authorize endpoint
validates them, then kept as a persisted grant under the hash of the request_uri's handle.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final

from django.http import HttpRequest, HttpResponse

from identity import clock
from identity.domain.grants import PushedRequestData
from identity.errors import InvalidDPoPProof, InvalidRequest
from identity.grants import records
from identity.grants.handles import handle_key, new_handle
from identity.http.authorization_request import (
    REQUEST_URI_PREFIX,
    AuthorizationParameters,
    check_required,
    pushed_lifetime,
)
from identity.http.client_authentication import authenticated_client
from identity.http.client_jwks import accepted_algorithms, client_keys
from identity.http.dpop import request_proof
from identity.http.frame import back_channel
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.registry import get_client_store, get_grant_store, get_resource_store
from identity.tokens.client_keys import unverified_kid
from identity.tokens.request_object import request_object_params
from identity.validation.authorize_request import (
    trusted_client_and_redirect,
    validate_authorize_request,
)

# Client authentication, not authorization request parameters: never stored.
_AUTHENTICATION: Final = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


@back_channel("client_secret", "client_assertion", "request", cors=True)
def pushed_authorization_endpoint(http: HttpRequest, params: Mapping[str, str]) -> HttpResponse:
    """Validate and keep an authenticated client's authorization request."""
    client = authenticated_client(http, params)
    if "request_uri" in params:
        raise InvalidRequest("request_uri cannot be pushed")
    now = clock.now()
    pushed = {k: v for k, v in params.items() if k not in _AUTHENTICATION}
    signed = "request" in pushed
    if signed:
        token = pushed["request"]
        pushed = request_object_params(token, client.client_id,
                                       client_keys(client, now, kid=unverified_kid(token)),
                                       get_issuer(http), now.timestamp(),
                                       accepted_algorithms())
    pushed["client_id"] = client.client_id
    proof = request_proof(http, client)
    if proof is not None:
        if pushed.setdefault("dpop_jkt", proof.jkt) != proof.jkt:
            raise InvalidDPoPProof("dpop_jkt differs from the DPoP proof's key")
    # Only the client's own rules apply: this is the push that RequirePushedAuthorization asks.
    check_required(client, AuthorizationParameters(pushed, pushed_key="", signed=signed))
    _, redirect_uri = trusted_client_and_redirect(pushed, get_client_store())
    validate_authorize_request(pushed, client, redirect_uri, get_resource_store())
    lifetime = pushed_lifetime(client)
    handle = new_handle()
    get_grant_store().store(records.pushed_request_grant(
        handle_key(handle), client.client_id, now, now + timedelta(seconds=lifetime),
        PushedRequestData(params=pushed, signed=signed)))
    return json_response({"request_uri": REQUEST_URI_PREFIX + handle, "expires_in": lifetime},
                         status=201)
