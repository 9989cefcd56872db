"""Find out what a presented token is and whether it is still good.

Works for JWT access tokens (our keys, not expired, not on the deny list when the client opted
in), reference access tokens and refresh tokens (stored by hash, not expired, not consumed).
Spec: RFC 7662 §2.2 (what "active" means), RFC 7009 §2.1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from identity.constants import TokenUsage
from identity.domain.client import Client
from identity.domain.grants import (
    GRANT_ISSUED_JTI,
    GRANT_REFERENCE_TOKEN,
    GRANT_REFRESH_TOKEN,
    GRANT_REVOKED_JTI,
    PersistedGrant,
)
from identity.errors import InvalidToken
from identity.stores import ClientStore, PersistedGrantStore
from identity.tokens.keys import KeyRing
from identity.validation.grants.authorization_code import handle_key
from identity.validation.jwt_tokens import decode_own_jwt

ACCESS_TOKEN: Final = "access_token"
REFRESH_TOKEN: Final = "refresh_token"
# A client property (IdentityServer's free-form Properties): "true" puts the jti of its JWT
# access tokens on a deny list when they are revoked, at the cost of one lookup per check.
REVOCABLE_JWT_PROPERTY: Final = "RevocableJwtAccessTokens"


@dataclass(frozen=True, slots=True)
class FoundToken:
    """A token this server issued: its kind, claims, and the grant that stores it (if any)."""

    kind: str
    claims: dict[str, Any]
    client_id: str
    grant: PersistedGrant | None = None

    @property
    def audiences(self) -> list[str]:
        """Return `aud` as a list."""
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else list(aud or [])


def is_jwt(token: str) -> bool:
    """Tell a compact JWS from an opaque handle (handles never contain dots)."""
    return token.count(".") == 2


def revoked_jti_key(jti: str) -> str:
    """Return the deny-list key of a JWT's jti."""
    return "jti:" + hashlib.sha256(jti.encode("utf-8")).hexdigest()[:60]


def jwt_revocable(client: Client | None) -> bool:
    """Tell whether the client opted in to revocable JWT access tokens."""
    return client is not None and dict(client.properties).get(
        REVOCABLE_JWT_PROPERTY, "").lower() == "true"


def find_token(token: str, *, ring: KeyRing, issuer: str, grants: PersistedGrantStore,
               clients: ClientStore, now: datetime) -> FoundToken | None:
    """Return the token if it is active now, else None (expired, revoked, unknown, garbage)."""
    if is_jwt(token):
        try:
            claims = decode_own_jwt(token, ring, issuer, typ="at+jwt")
        except InvalidToken:
            return None
        client_id = str(claims.get("client_id", ""))
        jti = claims.get("jti")
        # Users' tokens can be revoked with their family (code replay, refresh reuse,
        # revocation); clients' own JWTs only when the client opted in.
        checked = "sid" in claims or jwt_revocable(clients.find_client_by_id(client_id))
        if jti and checked and grants.get(revoked_jti_key(str(jti))) is not None:
            return None
        return FoundToken(ACCESS_TOKEN, claims, client_id)
    grant = grants.get(handle_key(token))
    if grant is None or grant.is_expired(now):
        return None
    if grant.type == GRANT_REFERENCE_TOKEN:
        return FoundToken(ACCESS_TOKEN, dict(grant.data["claims"]), grant.client_id, grant)
    if grant.type == GRANT_REFRESH_TOKEN:
        client = clients.find_client_by_id(grant.client_id)
        rotates = client is None or client.refresh_token_usage == TokenUsage.OneTimeOnly
        if grant.consumed is not None and rotates:
            return None
        claims = {"iss": issuer, "client_id": grant.client_id, "sub": grant.subject_id,
                  "scope": " ".join(grant.data.get("scopes", [])),
                  "iat": int(grant.created.timestamp())}
        if grant.expires is not None:
            claims["exp"] = int(grant.expires.timestamp())
        return FoundToken(REFRESH_TOKEN, claims, grant.client_id, grant)
    return None  # codes and deny-list entries are not tokens a caller holds


def issued_jti_entry(claims: dict[str, Any], client_id: str, family: str,
                     now: datetime) -> PersistedGrant:
    """Build the record of a JWT access token issued within a grant family."""
    digest = hashlib.sha256(str(claims["jti"]).encode("utf-8")).hexdigest()[:59]
    return PersistedGrant(
        key="ajti:" + digest, type=GRANT_ISSUED_JTI, client_id=client_id,
        subject_id=str(claims.get("sub", "")), family=family, created=now,
        expires=datetime.fromtimestamp(int(claims["exp"]), now.tzinfo),
        data={"jti": str(claims["jti"]), "exp": int(claims["exp"])})


def deny_list_entry(claims: dict[str, Any], client_id: str, now: datetime) -> PersistedGrant:
    """Build the deny-list record of a revoked JWT access token, kept until it expires."""
    return PersistedGrant(
        key=revoked_jti_key(str(claims["jti"])), type=GRANT_REVOKED_JTI, client_id=client_id,
        subject_id=str(claims.get("sub", "")), created=now,
        expires=datetime.fromtimestamp(int(claims["exp"]), now.tzinfo), data={})
