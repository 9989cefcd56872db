"""The token response: from a validated request to the JSON body.

Spec: RFC 6749 §5.1; RFC 9068 (JWT access tokens); OpenID Connect Core §3.1.3.3 (ID token);
RFC 9700 §4.14.2 (refresh token rotation).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from identity.constants import (
    JWT_ACCESS_TOKEN_TYPE,
    AccessTokenType,
    StandardScope,
    TokenExpiration,
    TokenType,
    TokenUsage,
)
from identity.domain.grants import ReferenceTokenData, RefreshTokenData
from identity.domain.requests import ValidatedTokenRequest
from identity.grants import records
from identity.grants.families import family_of, revoke_if_parent_gone
from identity.grants.handler import ID_TOKEN, REFRESH_TOKEN, TokenRequestContext
from identity.grants.handles import handle_key, new_handle
from identity.tokens.claims import access_token_claims, id_token_claims
from identity.tokens.jwt import sign


def issue_tokens(request: ValidatedTokenRequest, issues: frozenset[str],
                 context: TokenRequestContext) -> dict[str, Any]:
    """Issue the access token, and the refresh and ID tokens the grant and request earn."""
    now = int(context.now.timestamp())
    api_claims = _user_claims(request, context, api=True)
    claims = access_token_claims(request, context.issuer, now, context.static_audience,
                                 api_claims)
    if context.dpop_jkt is not None:  # RFC 9449 §6: bound to the proof's key
        claims["cnf"] = {"jkt": context.dpop_jkt}
    key = context.ring.signing_key()
    if request.client.access_token_type == AccessTokenType.Reference:
        access_token = _reference_token(claims, request, context)
    else:
        access_token = sign(claims, key, JWT_ACCESS_TOKEN_TYPE)
        if request.grant is not None:  # a user's token: revoked with its family
            _record_issued(claims, access_token, request, context)
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": (TokenType.DPOP if context.dpop_jkt is not None else TokenType.BEARER).value,
        "expires_in": request.client.access_token_lifetime,
        "scope": claims["scope"],
    }
    if REFRESH_TOKEN in issues:
        refresh = _refresh_token(request, context, api_claims)
        if refresh is not None:
            body["refresh_token"] = refresh
    if ID_TOKEN in issues and request.subject is not None \
            and StandardScope.OPENID in request.scopes:
        id_claims = id_token_claims(request, context.issuer, now, access_token, key.algorithm,
                                    _user_claims(request, context, api=False))
        body["id_token"] = sign(id_claims, key, "JWT")
    revoke_if_parent_gone(request, context.grants)
    return body


def _record_issued(claims: dict[str, Any], token: str, request: ValidatedTokenRequest,
                   context: TokenRequestContext) -> None:
    """Record a user's JWT access token with its family, so that revoking the family puts it
    on the deny list (by jti, or by digest when it has none)."""
    family = family_of(request.grant)
    identifier = records.jwt_identifier(claims, token)
    exp = int(claims["exp"])
    entry = records.issued_jti_entry(identifier, exp, request.client.client_id,
                                     request.subject or "", family, context.now)
    context.grants.store(entry)  # a no-op when this very token is already recorded
    if "jti" in claims:
        return  # 128 random bits: never issued twice
    # Without jti, another family may have been issued the same bytes in the same second; the
    # token is then recorded in both, so that revoking either family revokes it.
    owner = context.grants.get(entry.key)
    if owner is not None and owner.family != family:
        context.grants.store(records.issued_jti_entry(
            identifier, exp, request.client.client_id, request.subject or "", family,
            context.now, per_family=True))


def _reference_token(claims: dict[str, Any], request: ValidatedTokenRequest,
                     context: TokenRequestContext) -> str:
    handle = new_handle()
    context.grants.store(records.reference_grant(
        handle_key(handle), request.client.client_id, request.subject or "",
        request.session.session_id if request.session else "", family_of(request.grant),
        context.now, context.now + timedelta(seconds=request.client.access_token_lifetime),
        ReferenceTokenData(claims=claims)))
    return handle


def _user_claims(request: ValidatedTokenRequest, context: TokenRequestContext, *,
                 api: bool) -> dict[str, Any]:
    if request.subject is None:
        return {}
    if api:  # claims the APIs and scopes ask for (IdentityServer's UserClaims on resources)
        wanted = {c for r in request.resources.api_resources for c in r.user_claims}
        wanted |= {c for s in request.resources.api_scopes for c in s.user_claims}
        refreshed = request.refreshed
        if (not request.client.update_access_token_claims_on_refresh and refreshed is not None
                and refreshed.api_claims is not None):
            # The claims as first issued, for the APIs still in scope.
            return {k: v for k, v in refreshed.api_claims.items() if k in wanted}
    elif request.client.always_include_user_claims_in_id_token:
        wanted = {c for r in request.resources.identity_resources for c in r.user_claims}
    else:
        return {}
    wanted -= {"sub"}
    return context.users.claims(request.subject, wanted) if wanted else {}


def _refresh_token(request: ValidatedTokenRequest, context: TokenRequestContext,
                   api_claims: dict[str, Any]) -> str | None:
    client = request.client
    if (request.subject is None or request.session is None or not client.allow_offline_access
            or StandardScope.OFFLINE_ACCESS not in request.scopes):
        return None
    refreshed = request.refreshed
    absolute = _absolute_expiry(request, context.now)
    sliding = (client.refresh_token_expiration == TokenExpiration.Sliding
               and client.sliding_refresh_token_lifetime > 0)
    expires = absolute
    if sliding:
        slide = context.now + timedelta(seconds=client.sliding_refresh_token_lifetime)
        expires = min(slide, absolute) if absolute else slide
    # ReUse hands the presented token back; without one (its scope shrank) it issues a new one.
    if (refreshed is not None and client.refresh_token_usage == TokenUsage.ReUse
            and request.grant is not None and request.presented_refresh_token is not None):
        if sliding:
            context.grants.set_expiration(request.grant.key, expires)
        return request.presented_refresh_token
    handle = new_handle()
    context.grants.store(records.refresh_grant(
        handle_key(handle), client.client_id, request.session, family_of(request.grant),
        context.now, expires, RefreshTokenData(
            # RFC 6749 §6: a rotated token keeps the scope of the one presented, whatever this
            # request narrowed; the refresh grant has already dropped what the client lost.
            scopes=refreshed.scopes if refreshed is not None else request.scopes,
            auth_time=request.session.auth_time, amr=request.session.amr,
            absolute_expires=absolute.timestamp() if absolute else None,
            api_claims=api_claims, dpop_jkt=_refresh_binding(request, context))))
    return handle


def _refresh_binding(request: ValidatedTokenRequest, context: TokenRequestContext) -> str | None:
    # RFC 9449 §5: a public client's refresh token is bound to the key of its first DPoP proof
    # and keeps that binding through rotation; a confidential client's is bound by its secret.
    if request.refreshed is not None and request.refreshed.dpop_jkt is not None:
        return request.refreshed.dpop_jkt
    return None if request.client.require_client_secret else context.dpop_jkt


def _absolute_expiry(request: ValidatedTokenRequest, now: datetime) -> datetime | None:
    if request.refreshed is not None:  # the family's bound, set when it began
        stamp = request.refreshed.absolute_expires
        return datetime.fromtimestamp(stamp, now.tzinfo) if stamp else None
    lifetime = request.client.absolute_refresh_token_lifetime
    return now + timedelta(seconds=lifetime) if lifetime > 0 else None
