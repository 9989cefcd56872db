"""Token responses: from a validated request to the JSON body.

Spec: RFC 6749 §5.1; RFC 9068 (JWT access tokens); OpenID Connect Core §3.1.3.3 (ID token);
RFC 9700 §4.14.2 (refresh token rotation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from identity.constants import (
    JWT_ACCESS_TOKEN_TYPE,
    AccessTokenType,
    GrantType,
    StandardScope,
    TokenExpiration,
    TokenType,
    TokenUsage,
)
from identity.domain.grants import GRANT_REFERENCE_TOKEN, GRANT_REFRESH_TOKEN, PersistedGrant
from identity.domain.requests import ValidatedTokenRequest
from identity.stores import PersistedGrantStore, UserStore
from identity.tokens.claims import access_token_claims, id_token_claims
from identity.tokens.jwt import sign
from identity.tokens.keys import KeyRing
from identity.validation.grants.authorization_code import handle_key
from identity.validation.token_lookup import issued_jti_entry, jwt_identifier


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    """What issuing needs besides the request: issuer, keys, stores, time."""

    issuer: str
    ring: KeyRing
    grants: PersistedGrantStore
    users: UserStore
    now: datetime
    static_audience: str | None = None


def create_token_response(request: ValidatedTokenRequest,
                          issuer: TokenIssuer) -> dict[str, Any]:
    """Issue the access token, and the refresh and ID tokens the request earns."""
    now = int(issuer.now.timestamp())
    api_claims = _user_claims(request, issuer, api=True)
    claims = access_token_claims(request, issuer.issuer, now, issuer.static_audience, api_claims)
    key = issuer.ring.signing_key()
    if request.client.access_token_type == AccessTokenType.Reference:
        access_token = _reference_token(claims, request, issuer)
    else:
        access_token = sign(claims, key, JWT_ACCESS_TOKEN_TYPE)
        if request.grant is not None:  # a user's token: revoked with its family
            _record_issued(claims, access_token, request, issuer)
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": TokenType.BEARER.value,
        "expires_in": request.client.access_token_lifetime,
        "scope": claims["scope"],
    }
    refresh = _refresh_token(request, issuer, api_claims)
    if refresh is not None:
        body["refresh_token"] = refresh
    if request.subject is not None and StandardScope.OPENID in request.scopes:
        id_claims = id_token_claims(request, issuer.issuer, now, access_token, key.algorithm,
                                    _user_claims(request, issuer, api=False))
        body["id_token"] = sign(id_claims, key, "JWT")
    revoke_if_parent_gone(request, issuer.grants)
    return body


def revoke_if_parent_gone(request: ValidatedTokenRequest, grants: PersistedGrantStore) -> None:
    """Revoke what was just issued if a replay removed the code or refresh token meanwhile.

    Spec: RFC 9700 §4.2.4, §4.14.2. A replay deletes the parent and then its family; checking
    the parent after storing ours closes the window in which neither would see the other.
    """
    parent = request.grant
    rotating = parent is not None and (parent.type != GRANT_REFRESH_TOKEN or
                                       request.client.refresh_token_usage == TokenUsage.OneTimeOnly)
    if rotating and parent is not None and grants.get(parent.key) is None:
        grants.remove_family(parent.family or parent.key)


def _record_issued(claims: dict[str, Any], token: str, request: ValidatedTokenRequest,
                   issuer: TokenIssuer) -> None:
    """Record a user's JWT access token with its family, so that revoking the family puts it
    on the deny list (by jti, or by digest when it has none)."""
    family = _family(request)
    entry = issued_jti_entry(jwt_identifier(claims, token), claims, request.client.client_id,
                             request.subject or "", family, issuer.now)
    issuer.grants.store(entry)  # a no-op when this very token is already recorded
    if "jti" in claims:
        return  # 128 random bits: never issued twice
    # Without jti, another family may have been issued the same bytes in the same second; the
    # token is then recorded in both, so that revoking either family revokes it.
    owner = issuer.grants.get(entry.key)
    if owner is not None and owner.family != family:
        issuer.grants.store(issued_jti_entry(
            jwt_identifier(claims, token), claims, request.client.client_id,
            request.subject or "", family, issuer.now, per_family=True))


def _family(request: ValidatedTokenRequest) -> str:
    # Tokens descending from one code share its key: a replay or a revocation reaches them all.
    parent = request.grant
    return (parent.family or parent.key) if parent is not None else ""


def _reference_token(claims: dict[str, Any], request: ValidatedTokenRequest,
                     issuer: TokenIssuer) -> str:
    handle = secrets.token_urlsafe(32)
    issuer.grants.store(PersistedGrant(
        key=handle_key(handle), type=GRANT_REFERENCE_TOKEN, client_id=request.client.client_id,
        subject_id=request.subject or "",
        session_id=request.session.session_id if request.session else "",
        family=_family(request), created=issuer.now,
        expires=issuer.now + timedelta(seconds=request.client.access_token_lifetime),
        data={"claims": claims}))
    return handle


def _user_claims(request: ValidatedTokenRequest, issuer: TokenIssuer, *,
                 api: bool) -> dict[str, Any]:
    if request.subject is None:
        return {}
    if api:  # claims the APIs and scopes ask for (IdentityServer's UserClaims on resources)
        wanted = {c for r in request.resources.api_resources for c in r.user_claims}
        wanted |= {c for s in request.resources.api_scopes for c in s.user_claims}
        if not request.client.update_access_token_claims_on_refresh and request.grant and \
                request.grant.type == GRANT_REFRESH_TOKEN and "api_claims" in request.grant.data:
            # The claims as first issued, for the APIs still in scope.
            stored = request.grant.data["api_claims"]
            return {k: v for k, v in stored.items() if k in wanted}
    elif request.client.always_include_user_claims_in_id_token:
        wanted = {c for r in request.resources.identity_resources for c in r.user_claims}
    else:
        return {}
    wanted -= {"sub"}
    return issuer.users.claims(request.subject, wanted) if wanted else {}


def _refresh_token(request: ValidatedTokenRequest, issuer: TokenIssuer,
                   api_claims: dict[str, Any]) -> str | None:
    client = request.client
    if (request.subject is None or not client.allow_offline_access
            or StandardScope.OFFLINE_ACCESS not in request.scopes):
        return None
    parent = request.grant
    # Without a presented token to hand back (its scope shrank), ReUse issues a new one too.
    reuse = (request.grant_type == GrantType.REFRESH_TOKEN
             and client.refresh_token_usage == TokenUsage.ReUse and parent is not None
             and request.presented_refresh_token is not None)
    absolute = _absolute_expiry(request, issuer.now)
    sliding = (client.refresh_token_expiration == TokenExpiration.Sliding
               and client.sliding_refresh_token_lifetime > 0)
    expires = absolute
    if sliding:
        slide = issuer.now + timedelta(seconds=client.sliding_refresh_token_lifetime)
        expires = min(slide, absolute) if absolute else slide
    if reuse and parent is not None:
        if sliding:
            issuer.grants.set_expiration(parent.key, expires)
        return request.presented_refresh_token
    handle = secrets.token_urlsafe(32)
    assert request.session is not None
    family = _family(request)
    issuer.grants.store(PersistedGrant(
        key=handle_key(handle), type=GRANT_REFRESH_TOKEN, client_id=client.client_id,
        subject_id=request.subject, session_id=request.session.session_id, family=family,
        created=issuer.now, expires=expires,
        # RFC 6749 §6: a rotated token keeps the scope of the one presented, whatever this
        # request narrowed; the refresh grant has already dropped what the client lost since.
        data={"scopes": list(parent.data["scopes"]) if parent is not None and
              parent.type == GRANT_REFRESH_TOKEN else list(request.scopes),
              "auth_time": request.session.auth_time,
              "amr": list(request.session.amr),
              "absolute_expires": absolute.timestamp() if absolute else None,
              "api_claims": api_claims}))
    return handle


def _absolute_expiry(request: ValidatedTokenRequest, now: datetime) -> datetime | None:
    parent = request.grant
    if parent is not None and parent.type == GRANT_REFRESH_TOKEN:
        stamp = parent.data.get("absolute_expires")
        return datetime.fromtimestamp(stamp, now.tzinfo) if stamp else None
    lifetime = request.client.absolute_refresh_token_lifetime
    return now + timedelta(seconds=lifetime) if lifetime > 0 else None
