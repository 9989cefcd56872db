"""Where an authorization request's parameters come from: the query, a signed request object,
or a pushed authorization request; and the client's rules about which it must use.

Spec: RFC 9126 §4 (request_uri from PAR: bound to the client, expires, used once), §5
(RequirePushedAuthorization); RFC 9101 §5-6 (`request`: only its claims are used; `request_uri`
by reference is not supported), §10.5 (RequireRequestObject).

A pushed request is used once by everyone but the browser that first opened it: that browser
returns to the same URL after signing in and consenting, so the first use binds the request to
its Django session, and issuing the code deletes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from django.http import HttpRequest

from identity import clock
from identity.conf import identity_settings
from identity.domain.client import Client
from identity.domain.grants import GRANT_PUSHED_AUTHORIZATION
from identity.errors import (
    InvalidRequest,
    InvalidRequestUri,
    RequestUriNotSupported,
)
from identity.grants import records
from identity.grants.handles import handle_key
from identity.http.client_jwks import accepted_algorithms, client_keys
from identity.http.issuer import get_issuer
from identity.http.session import SIGN_IN_TICKET_LIFETIME
from identity.stores.interfaces import find_enabled_client
from identity.stores.registry import get_client_store, get_grant_store
from identity.tokens.client_keys import unverified_kid
from identity.tokens.request_object import request_object_params
from identity.validation.authorize_request import UntrustedRequest
from identity.validation.interaction import SIGN_IN_TICKET

REQUEST_URI_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"
OPENED: Final = "identity.pushed_requests"  # session key: pushed requests this browser opened
_OPENED_KEPT: Final = 10


@dataclass(frozen=True, slots=True)
class AuthorizationParameters:
    """The parameters to validate, and how they arrived."""

    params: Mapping[str, str]
    pushed_key: str | None = None  # the pushed request's grant key
    signed: bool = False  # carried by a signed request object


def resolve(http: HttpRequest, query: Mapping[str, str]) -> AuthorizationParameters:
    """Return the request's parameters: pushed, from a request object, or the query."""
    if "request_uri" in query:
        return _pushed(http, query)
    if "request" in query:
        client = _client(query)
        token = query["request"]
        keys = client_keys(client, clock.now(), kid=unverified_kid(token))
        params = request_object_params(token, client.client_id, keys, get_issuer(http),
                                       clock.now().timestamp(), accepted_algorithms())
        return AuthorizationParameters(_with_ticket(params, query), signed=True)
    return AuthorizationParameters(query)


def check_required(client: Client, found: AuthorizationParameters) -> None:
    """Refuse a request that skipped PAR or a request object the client must use."""
    if found.pushed_key is None and (client.require_pushed_authorization
                                     or identity_settings.REQUIRE_PUSHED_AUTHORIZATION):
        raise InvalidRequest("authorization requests must be pushed (PAR) first")
    if client.require_request_object and not found.signed:
        raise InvalidRequest("this client must send a signed request object")


def pushed_lifetime(client: Client) -> int:
    """Return the seconds a pushed request stays usable for this client."""
    return client.pushed_authorization_lifetime or identity_settings.PUSHED_AUTHORIZATION_LIFETIME


def spend(http: HttpRequest, found: AuthorizationParameters) -> None:
    """Delete a pushed request once its code is issued: it is never used again."""
    if found.pushed_key is None:
        return
    get_grant_store().remove(found.pushed_key)
    opened = [k for k in http.session.get(OPENED, []) if k != found.pushed_key]
    http.session[OPENED] = opened


def _pushed(http: HttpRequest, query: Mapping[str, str]) -> AuthorizationParameters:
    uri = query["request_uri"]
    if not uri.startswith(REQUEST_URI_PREFIX):
        raise RequestUriNotSupported("only request_uri values from the pushed authorization "
                                     "request endpoint are supported")
    client_id = query.get("client_id")
    if client_id is None:
        raise UntrustedRequest("client_id is missing")
    key = handle_key(uri.removeprefix(REQUEST_URI_PREFIX))
    grants, now = get_grant_store(), clock.now()
    grant = grants.get(key)
    invalid = "the request_uri is unknown, expired or already used"
    if grant is None or grant.type != GRANT_PUSHED_AUTHORIZATION or grant.is_expired(now):
        raise InvalidRequestUri(invalid)
    if grant.client_id != client_id:
        raise InvalidRequestUri(invalid, detail=f"pushed by {grant.client_id!r}, used by "
                                                f"{client_id!r}")
    opened: list[str] = list(http.session.get(OPENED, []))
    if grant.consumed is not None and key not in opened:
        raise InvalidRequestUri(invalid, detail="opened by another browser")
    if grant.consumed is None:
        if not grants.consume(key, now):
            raise InvalidRequestUri(invalid, detail="opened concurrently")
        # From now on the person signing in has the time a sign-in ticket gives.
        grants.set_expiration(key, now + timedelta(seconds=SIGN_IN_TICKET_LIFETIME))
        http.session[OPENED] = [*opened, key][-_OPENED_KEPT:]
    data = records.pushed_request_data(grant)
    return AuthorizationParameters(_with_ticket(data.params, query), pushed_key=key,
                                   signed=data.signed)


def _client(query: Mapping[str, str]) -> Client:
    client_id = query.get("client_id")
    if client_id is None:
        raise UntrustedRequest("client_id is missing")
    client = find_enabled_client(get_client_store(), client_id)
    if client is None:
        raise UntrustedRequest("unknown or disabled client", detail=f"client_id={client_id!r}")
    return client


def _with_ticket(params: Mapping[str, str], query: Mapping[str, str]) -> dict[str, str]:
    # The sign-in ticket is this server's own parameter on the return trip, never the client's.
    merged = {k: v for k, v in params.items() if k != SIGN_IN_TICKET}
    if SIGN_IN_TICKET in query:
        merged[SIGN_IN_TICKET] = query[SIGN_IN_TICKET]
    return merged
