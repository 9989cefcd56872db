"""The device authorization endpoint: a device asks for a device code and a user code.

Spec: RFC 8628 §3.1 (the request: the client authenticates as at the token endpoint, or a
public client sends client_id; `scope` optional), §3.2 (the response: device_code, user_code,
verification_uri, verification_uri_complete, expires_in, interval; no-store), §3.3 (the user
visits the verification URI); IdentityServer's /connect/deviceauthorization, where an absent
scope asks for every scope the client is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from identity import clock
from identity.constants import SCOPE, USER_CODE, GrantType
from identity.domain.client import Client
from identity.errors import UnauthorizedClient
from identity.grants.device_authorization import start_device_authorization
from identity.http.client_authentication import authenticated_client
from identity.http.frame import back_channel
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.registry import get_device_store, get_resource_store
from identity.validation.authorize_request import user_scopes
from identity.validation.client_support import unsupported_problems
from identity.validation.scopes import parse_scope


@back_channel("client_secret", "client_assertion", cors=True)
def device_authorization_endpoint(http: HttpRequest, params: Mapping[str, str]) -> HttpResponse:
    """Start a device authorization for an authenticated (or public) client."""
    client = authenticated_client(http, params)
    _check_client(client)
    scopes, _ = user_scopes(_requested(params, client), client, get_resource_store())
    issued = start_device_authorization(client, scopes, get_device_store(), clock.now())
    verification_uri = get_issuer(http) + reverse("identity:device")
    return json_response({
        "device_code": issued.device_code,
        "user_code": issued.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": verification_uri + "?" + urlencode(
            {USER_CODE: issued.user_code}),
        "expires_in": issued.expires_in,
        "interval": issued.interval,
    })


def _check_client(client: Client) -> None:
    if unsupported_problems(client):  # fail closed, as the token endpoint does
        raise UnauthorizedClient("the client's configuration uses features this server does "
                                 "not support yet")
    if GrantType.DEVICE_CODE not in client.allowed_grant_types:
        raise UnauthorizedClient("the client may not use the device authorization grant")


def _requested(params: Mapping[str, str], client: Client) -> tuple[str, ...]:
    # No scope: every scope the client is allowed (IdentityServer).
    return parse_scope(params.get(SCOPE)) or tuple(client.allowed_scopes)
