"""Access tokens presented to this server's own resources (userinfo, the management API,
dynamic client registration), verified as the introspection endpoint would.

Spec: RFC 6750 §2.1-2.2 (the header, or the form body), §3.1 (errors); RFC 9449 §7 (the DPoP
scheme: a bound token needs its key's proof, and is never accepted as a bearer token).
"""

from __future__ import annotations

from django.http import HttpRequest

from identity import clock
from identity.errors import InsufficientScope, InvalidRequest, InvalidToken, MissingToken
from identity.grants.lookup import ACCESS_TOKEN, FoundToken, find_token
from identity.http.dpop import check_sender
from identity.http.forms import read_form
from identity.http.issuer import get_issuer
from identity.stores.registry import (
    get_client_store,
    get_grant_store,
    get_key_ring,
    get_user_store,
)


def bearer_token(http: HttpRequest, *, allow_body: bool = True) -> str:
    """Return the access token from `Authorization: Bearer` (or `DPoP`) or, for a form POST,
    the body."""
    header: str | None = http.META.get("HTTP_AUTHORIZATION")
    body_token = None
    if allow_body and http.method == "POST" and \
            (http.content_type or "").startswith("application/x-www"):
        body_token = read_form(http).get("access_token")
    if header and body_token:
        raise InvalidRequest("send the token in one place only")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("bearer", "dpop"):
            raise MissingToken("use the Bearer or DPoP scheme")
        if not value.strip():
            raise InvalidToken("the access token is empty")
        return value.strip()
    if body_token:
        return body_token
    raise MissingToken("an access token is required")


def token_scheme(http: HttpRequest) -> str:
    """Return how the token was presented: "dpop", or "bearer" (the header or the body)."""
    header = http.META.get("HTTP_AUTHORIZATION") or ""
    return "dpop" if header.partition(" ")[0].lower() == "dpop" else "bearer"


def verify_access_token(http: HttpRequest, token: str) -> FoundToken:
    """Return the active access token, or raise InvalidToken.

    Active means what introspection says: signed by a published key or stored, not expired, not
    on the deny list, its client enabled and its user (if any) still active.
    """
    found = find_token(token, ring=get_key_ring(), issuer=get_issuer(http),
                       grants=get_grant_store(), clients=get_client_store(), now=clock.now())
    if found is None or found.kind != ACCESS_TOKEN:
        raise InvalidToken("the access token is invalid, expired or revoked")
    if found.client is None or not found.client.enabled:
        raise InvalidToken("the token's client or user is no longer active")
    subject = found.subject_id
    if subject is not None and not get_user_store().is_active(subject):
        raise InvalidToken("the token's client or user is no longer active")
    check_sender(http, found, token, token_scheme(http))
    return found


def token_scopes(found: FoundToken) -> frozenset[str]:
    """Return the scopes the token carries."""
    scope = found.claims.get("scope", "")
    values = scope.split() if isinstance(scope, str) else scope
    return frozenset(str(v) for v in values or ())


def require_scope(found: FoundToken, *accepted: str) -> None:
    """Raise InsufficientScope unless the token carries one of the `accepted` scopes."""
    if not token_scopes(found) & set(accepted):
        raise InsufficientScope(accepted[0])
