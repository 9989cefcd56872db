"""The userinfo endpoint: claims of the signed-in user for the identity scopes granted.

Spec: OpenID Connect Core §5.3; RFC 6750 §2 (bearer token in the header or the form body) and
§3.1 (errors); RFC 9449 §7 (DPoP-bound tokens).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from identity import clock
from identity.constants import StandardScope
from identity.errors import (
    InsufficientScope,
    InvalidToken,
    MethodNotAllowed,
)
from identity.grants.lookup import ACCESS_TOKEN, find_token
from identity.http.bearer import bearer_token, token_scheme
from identity.http.cors import with_cors
from identity.http.dpop import check_sender
from identity.http.frame import protocol_errors
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.registry import (
    get_client_store,
    get_grant_store,
    get_key_ring,
    get_resource_store,
    get_user_store,
)
from identity.tokens.subject import subject_for


@csrf_exempt
@with_cors("GET, POST")
@protocol_errors
def userinfo_endpoint(http: HttpRequest) -> HttpResponse:
    """Return the user's claims."""
    if http.method not in ("GET", "POST"):
        raise MethodNotAllowed("GET, POST")
    token = bearer_token(http)
    found = find_token(token, ring=get_key_ring(), issuer=get_issuer(http),
                       grants=get_grant_store(), clients=get_client_store(), now=clock.now())
    if found is None or found.kind != ACCESS_TOKEN:
        raise InvalidToken("the access token is invalid, expired or revoked")
    check_sender(http, found, token, token_scheme(http))
    claims = found.claims
    scopes = str(claims.get("scope", "")).split()
    if StandardScope.OPENID not in scopes:
        raise InsufficientScope(StandardScope.OPENID)
    client, subject = found.client, found.subject_id  # the user, never read from a pairwise sub
    users = get_user_store()
    if client is None or not client.enabled or subject is None or not users.is_active(subject):
        raise InvalidToken("the token's client or user is no longer active")
    resources = get_resource_store().find_resources_by_scope_names(scopes)
    wanted = {c for r in resources.identity_resources if r.enabled for c in r.user_claims}
    body = users.claims(subject, wanted - {"sub"})
    body["sub"] = subject_for(client, subject)
    return json_response(body)
