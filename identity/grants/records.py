"""What is persisted for each kind of grant, and the one place its data is written and read.

`PersistedGrant.data` is JSON in the store; only this module builds it (`*_grant`, `*_entry`)
and turns it back into the typed data of `identity.domain.grants` (`code_data`, `refresh_data`,
`reference_data`). Rows written by earlier versions read with the defaults of those types.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from identity.domain.grants import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_ISSUED_JTI,
    GRANT_PUSHED_AUTHORIZATION,
    GRANT_REFERENCE_TOKEN,
    GRANT_REFRESH_TOKEN,
    GRANT_REVOKED_JTI,
    CodeData,
    IssuedJwtData,
    PersistedGrant,
    PushedRequestData,
    ReferenceTokenData,
    RefreshTokenData,
)
from identity.domain.requests import UserSession


def _encode(data: CodeData | RefreshTokenData | ReferenceTokenData | IssuedJwtData
            | PushedRequestData) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(data).items()}


def code_grant(key: str, client_id: str, session: UserSession, created: datetime,
               expires: datetime, data: CodeData) -> PersistedGrant:
    """Build the record of an authorization code."""
    return PersistedGrant(key=key, type=GRANT_AUTHORIZATION_CODE, client_id=client_id,
                          subject_id=session.subject_id, session_id=session.session_id,
                          created=created, expires=expires, data=_encode(data))


def code_data(grant: PersistedGrant) -> CodeData:
    """Read an authorization code's data."""
    d = grant.data
    return CodeData(redirect_uri=d["redirect_uri"], scopes=tuple(d["scopes"]),
                    auth_time=int(d["auth_time"]), amr=tuple(d.get("amr") or ("pwd",)),
                    nonce=d.get("nonce"), code_challenge=d.get("code_challenge"),
                    code_challenge_method=d.get("code_challenge_method"),
                    dpop_jkt=d.get("dpop_jkt"))


def refresh_grant(key: str, client_id: str, session: UserSession, family: str,
                  created: datetime, expires: datetime | None,
                  data: RefreshTokenData) -> PersistedGrant:
    """Build the record of a refresh token."""
    return PersistedGrant(key=key, type=GRANT_REFRESH_TOKEN, client_id=client_id,
                          subject_id=session.subject_id, session_id=session.session_id,
                          family=family, created=created, expires=expires, data=_encode(data))


def refresh_data(grant: PersistedGrant) -> RefreshTokenData:
    """Read a refresh token's data."""
    d = grant.data
    return RefreshTokenData(scopes=tuple(d.get("scopes") or ()), auth_time=int(d["auth_time"]),
                            amr=tuple(d.get("amr") or ("pwd",)),
                            absolute_expires=d.get("absolute_expires"),
                            api_claims=d.get("api_claims"), dpop_jkt=d.get("dpop_jkt"))


def with_scopes(grant: PersistedGrant, scopes: tuple[str, ...]) -> PersistedGrant:
    """Return a refresh token's record narrowed to `scopes` (what the configuration allows)."""
    return PersistedGrant(key=grant.key, type=grant.type, client_id=grant.client_id,
                          data={**grant.data, "scopes": list(scopes)}, created=grant.created,
                          expires=grant.expires, subject_id=grant.subject_id,
                          session_id=grant.session_id, family=grant.family,
                          consumed=grant.consumed)


def reference_grant(key: str, client_id: str, subject_id: str, session_id: str, family: str,
                    created: datetime, expires: datetime,
                    data: ReferenceTokenData) -> PersistedGrant:
    """Build the record of a reference access token."""
    return PersistedGrant(key=key, type=GRANT_REFERENCE_TOKEN, client_id=client_id,
                          subject_id=subject_id, session_id=session_id, family=family,
                          created=created, expires=expires, data=_encode(data))


def reference_data(grant: PersistedGrant) -> ReferenceTokenData:
    """Read a reference token's claims."""
    return ReferenceTokenData(claims=dict(grant.data["claims"]))


def pushed_request_grant(key: str, client_id: str, created: datetime, expires: datetime,
                         data: PushedRequestData) -> PersistedGrant:
    """Build the record of a pushed authorization request."""
    return PersistedGrant(key=key, type=GRANT_PUSHED_AUTHORIZATION, client_id=client_id,
                          created=created, expires=expires, data=_encode(data))


def pushed_request_data(grant: PersistedGrant) -> PushedRequestData:
    """Read a pushed authorization request's parameters."""
    return PushedRequestData(params={str(k): str(v) for k, v in grant.data["params"].items()},
                             signed=bool(grant.data.get("signed")))


def jwt_identifier(claims: dict[str, Any], token: str) -> str:
    """Return what names a JWT access token on the deny list: its jti, else its digest.

    Clients with IncludeJwtId off get tokens without jti; their SHA-256 names them instead.
    """
    jti = claims.get("jti")
    return str(jti) if jti else "sha256:" + hashlib.sha256(token.encode("ascii")).hexdigest()


def revoked_jti_key(identifier: str) -> str:
    """Return the deny-list key of a JWT (its `jwt_identifier`)."""
    return "jti:" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:60]


def issued_jti_key(identifier: str, family: str = "") -> str:
    """Return the key of the record of a JWT issued within a grant family: by the token alone,
    or, for a second family that was issued the very same token, by family and token."""
    named = f"{family}|{identifier}" if family else identifier
    return "ajti:" + hashlib.sha256(named.encode("utf-8")).hexdigest()[:59]


def issued_jti_entry(identifier: str, exp: int, client_id: str, subject_id: str,
                     family: str, now: datetime, *, per_family: bool = False) -> PersistedGrant:
    """Build the record of a JWT access token issued within a grant family (`jwt_identifier`
    names it), which also names its user for pairwise clients."""
    return PersistedGrant(
        key=issued_jti_key(identifier, family if per_family else ""), type=GRANT_ISSUED_JTI,
        client_id=client_id, subject_id=subject_id, family=family, created=now,
        expires=datetime.fromtimestamp(exp, now.tzinfo),
        data=_encode(IssuedJwtData(jti=identifier, exp=exp)))


def issued_jwt_data(data: Mapping[str, Any]) -> IssuedJwtData:
    """Read the data of an issued JWT's record (a `PersistedGrant.data` or a stored row's)."""
    return IssuedJwtData(jti=str(data["jti"]), exp=int(data["exp"]))


def deny_list_entry(identifier: str, exp: int, client_id: str, subject_id: str,
                    now: datetime) -> PersistedGrant:
    """Build the deny-list record of a revoked JWT access token, kept until it expires."""
    return PersistedGrant(
        key=revoked_jti_key(identifier), type=GRANT_REVOKED_JTI, client_id=client_id,
        subject_id=subject_id, created=now,
        expires=datetime.fromtimestamp(exp, now.tzinfo), data={})
