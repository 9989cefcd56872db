"""The revocation endpoint: a client gives back a refresh token or an access token.

Spec: RFC 7009 §2. The hint is only a hint; an unknown token answers 200; another client's
token answers 200 and stays valid (§2.1: the server must not reveal it exists); a failure to
record the revocation answers 503 (never a 200 that did not revoke).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse

from identity import clock, signals
from identity.errors import InvalidRequest, UnsupportedTokenType
from identity.grants.families import revoke_family
from identity.grants.lookup import REFRESH_TOKEN, find_token, jwt_revocable
from identity.grants.records import deny_list_entry, jwt_identifier
from identity.http.client_authentication import authenticated_client
from identity.http.frame import back_channel
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.registry import get_client_store, get_grant_store, get_key_ring

logger = logging.getLogger(__name__)


@back_channel("token", "client_secret", cors=True)
def revocation_endpoint(http: HttpRequest, params: Mapping[str, str]) -> HttpResponse:
    """Revoke a token of the authenticated client."""
    client = authenticated_client(http, params)
    token = params.get("token")
    if token is None:
        raise InvalidRequest("token is missing")
    grants, now = get_grant_store(), clock.now()
    found = find_token(token, ring=get_key_ring(), issuer=get_issuer(http), grants=grants,
                       clients=get_client_store(), now=now)
    if found is None or found.client_id != client.client_id:
        return json_response({})
    if found.grant is None:  # a JWT access token
        if not jwt_revocable(client):
            raise UnsupportedTokenType("this client's JWT access tokens cannot be revoked; "
                                       "they expire on their own")
        grants.store(deny_list_entry(jwt_identifier(found.claims, token),
                                     int(found.claims["exp"]), client.client_id,
                                     found.subject_id or "", now))
    elif found.kind == REFRESH_TOKEN:
        # The refresh token's family: the tokens issued with it, reference access tokens too.
        revoke_family(grants, found.grant)
    else:
        grants.remove(found.grant.key)
    signals.token_revoked.send(revocation_endpoint, client_id=client.client_id,
                               kind=found.kind)
    logger.info("token revoked client_id=%s kind=%s", client.client_id, found.kind)
    return json_response({})
