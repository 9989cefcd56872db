"""The introspection endpoint: is this token active, and what does it carry?

Spec: RFC 7662 §2; RFC 9449 §6.2 (cnf of DPoP-bound tokens). Callers are API resources (their
ApiSecrets, as in IdentityServer) or clients; an API sees only tokens meant for it, a client
only its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.http import HttpRequest, HttpResponse

from identity import clock
from identity.errors import InvalidRequest
from identity.grants.lookup import ACCESS_TOKEN, FoundToken, find_token
from identity.http.client_authentication import Caller, authenticated_caller
from identity.http.frame import back_channel
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.registry import get_client_store, get_grant_store, get_key_ring, get_user_store

INACTIVE: Final = {"active": False}
_MEMBERS: Final = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "cnf")


@back_channel("token", "client_secret")
def introspection_endpoint(http: HttpRequest, params: Mapping[str, str]) -> HttpResponse:
    """Answer whether a token is active, for an authenticated API or client."""
    caller = authenticated_caller(http, params)
    token = params.get("token")
    if token is None:
        raise InvalidRequest("token is missing")
    found = find_token(token, ring=get_key_ring(), issuer=get_issuer(http),
                       grants=get_grant_store(), clients=get_client_store(), now=clock.now())
    if found is None or not _visible(found, caller) or not _still_allowed(found):
        return json_response(INACTIVE)
    return json_response(_describe(found))


def _visible(found: FoundToken, caller: Caller) -> bool:
    if caller.api is not None:
        return found.kind == ACCESS_TOKEN and caller.api in found.audiences
    return caller.client is not None and found.client_id == caller.client.client_id


def _still_allowed(found: FoundToken) -> bool:
    # A disabled client or a deactivated user makes its tokens inactive (IdentityServer's
    # token validator checks both too). The user comes from find_token, not from `sub`, which
    # is pairwise for clients with a salt.
    if found.client is None or not found.client.enabled:
        return False
    return found.subject_id is None or get_user_store().is_active(found.subject_id)


def _describe(found: FoundToken) -> dict[str, Any]:
    body: dict[str, Any] = {"active": True}
    body.update({k: found.claims[k] for k in _MEMBERS if k in found.claims})
    if found.kind != ACCESS_TOKEN:
        body["token_type"] = found.kind
    else:  # RFC 9449 §6.2: a bound token is shown with its key's thumbprint (cnf.jkt)
        body["token_type"] = "DPoP" if "cnf" in found.claims else "Bearer"
    return body
