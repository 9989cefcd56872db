"""Find out what a presented token is and whether it is still good.

Works for JWT access tokens (our keys, not expired, not on the deny list when they belong to a
user or the client opted in), reference access tokens and refresh tokens (stored by hash, not
expired, not consumed).
Spec: RFC 7662 §2.2 (what "active" means), RFC 7009 §2.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from identity.constants import REVOCABLE_JWT_PROPERTY, TokenUsage
from identity.domain.client import Client
from identity.domain.grants import GRANT_REFERENCE_TOKEN, GRANT_REFRESH_TOKEN, PersistedGrant
from identity.errors import InvalidToken
from identity.grants.handles import handle_key
from identity.grants.records import (
    issued_jti_key,
    jwt_identifier,
    reference_data,
    refresh_data,
    revoked_jti_key,
)
from identity.stores.interfaces import ClientStore, PersistedGrantStore
from identity.tokens.keys import KeyRing
from identity.tokens.subject import subject_for
from identity.tokens.verification import decode_own_jwt

ACCESS_TOKEN: Final = "access_token"
REFRESH_TOKEN: Final = "refresh_token"


@dataclass(frozen=True, slots=True)
class FoundToken:
    """A token this server issued: its kind, claims, client, user and stored grant (if any).

    `subject_id` is the user's own id, from server-side state when the token only carries a
    pairwise `sub`; None for a client's own token.
    """

    kind: str
    claims: dict[str, Any]
    client_id: str
    grant: PersistedGrant | None = None
    client: Client | None = None
    subject_id: str | None = None

    @property
    def audiences(self) -> list[str]:
        """Return `aud` as a list."""
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else list(aud or [])


def is_jwt(token: str) -> bool:
    """Tell a compact JWS from an opaque handle (handles never contain dots)."""
    return token.count(".") == 2








def jwt_revocable(client: Client | None) -> bool:
    """Tell whether the client opted in to revocable JWT access tokens."""
    return client is not None and dict(client.properties).get(
        REVOCABLE_JWT_PROPERTY, "").lower() == "true"


def find_token(token: str, *, ring: KeyRing, issuer: str, grants: PersistedGrantStore,
               clients: ClientStore, now: datetime) -> FoundToken | None:
    """Return the token if it is active now, else None (expired, revoked, unknown, garbage)."""
    if is_jwt(token):
        return _find_jwt(token, ring, issuer, grants, clients)
    grant = grants.get(handle_key(token))
    if grant is None or grant.is_expired(now):
        return None
    client = clients.find_client_by_id(grant.client_id)
    subject = grant.subject_id or None
    if grant.type == GRANT_REFERENCE_TOKEN:
        return FoundToken(ACCESS_TOKEN, reference_data(grant).claims, grant.client_id, grant,
                          client, subject)
    if grant.type == GRANT_REFRESH_TOKEN:
        rotates = client is None or client.refresh_token_usage == TokenUsage.OneTimeOnly
        if grant.consumed is not None and rotates:
            return None
        shown = subject_for(client, grant.subject_id) if client is not None else grant.subject_id
        claims = {"iss": issuer, "client_id": grant.client_id, "sub": shown,
                  "scope": " ".join(refresh_data(grant).scopes),
                  "iat": int(grant.created.timestamp())}
        if grant.expires is not None:
            claims["exp"] = int(grant.expires.timestamp())
        return FoundToken(REFRESH_TOKEN, claims, grant.client_id, grant, client, subject)
    return None  # codes and deny-list entries are not tokens a caller holds


def _find_jwt(token: str, ring: KeyRing, issuer: str, grants: PersistedGrantStore,
              clients: ClientStore) -> FoundToken | None:
    try:
        claims = decode_own_jwt(token, ring, issuer, typ="at+jwt")
    except InvalidToken:
        return None
    client_id = str(claims.get("client_id", ""))
    client = clients.find_client_by_id(client_id)
    user = "sid" in claims or "auth_time" in claims  # both come with a user's session
    # Users' tokens can be revoked with their family (code replay, refresh reuse, revocation);
    # clients' own JWTs only when the client opted in. Others cost no lookup.
    if not user and not jwt_revocable(client):
        return FoundToken(ACCESS_TOKEN, claims, client_id, client=client)
    identifier = jwt_identifier(claims, token)
    if grants.get(revoked_jti_key(identifier)) is not None:
        return None
    if not user:
        return FoundToken(ACCESS_TOKEN, claims, client_id, client=client)
    subject: str | None = str(claims.get("sub", ""))
    if client is not None and client.pair_wise_subject_salt:
        # The token names the user only by the client's pairwise `sub`; the record kept with
        # its family names the user. No record: revoked with its family (or never ours).
        issued = grants.get(issued_jti_key(identifier))
        if issued is None:
            return None
        subject = issued.subject_id
    return FoundToken(ACCESS_TOKEN, claims, client_id, client=client, subject_id=subject)



