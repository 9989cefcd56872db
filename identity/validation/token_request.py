"""Token request validation: a registry of grants, each declaring the parameters it reads.

Spec: RFC 6749 §4 and §5.2. Parameters a grant does not declare are dropped before dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Final

from identity.constants import GRANT_TYPE, GrantType
from identity.domain.client import Client
from identity.domain.requests import ValidatedTokenRequest
from identity.errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from identity.stores import PersistedGrantStore, ResourceStore, UserStore
from identity.validation.client_support import unsupported_problems


@dataclass(frozen=True, slots=True)
class TokenContext:
    """What grants may consult: stores and the time of the request."""

    resources: ResourceStore
    grants: PersistedGrantStore
    users: UserStore
    now: datetime
    refresh_reuse_grace: int = 0


def _registry() -> dict[str, ModuleType]:
    from identity.validation.grants import authorization_code, client_credentials, refresh_token

    return {m.GRANT_TYPE: m for m in (authorization_code, client_credentials, refresh_token)}


TOKEN_GRANTS: Final[dict[str, ModuleType]] = _registry()


def _allowed(client: Client, grant_type: str) -> bool:
    # refresh_token is never listed: AllowOfflineAccess implies it (IdentityServer).
    if grant_type == GrantType.REFRESH_TOKEN:
        return client.allow_offline_access
    return grant_type in client.allowed_grant_types


def validate_token_request(params: Mapping[str, str], client: Client,
                           context: TokenContext) -> ValidatedTokenRequest:
    """Dispatch to the grant named by `grant_type` once the client is authenticated."""
    unsupported = unsupported_problems(client)
    if unsupported:  # fail closed: never issue tokens as if those properties were off
        raise UnauthorizedClient(
            "the client's configuration uses features this server does not support yet",
            detail="; ".join(p.describe(client.client_id) for p in unsupported))
    grant_type = params.get(GRANT_TYPE)
    if grant_type is None:
        raise InvalidRequest("grant_type is missing")
    grant = TOKEN_GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
    if not _allowed(client, grant_type):
        raise UnauthorizedClient(f"the client may not use {grant_type}")
    used = {name: value for name, value in params.items() if name in grant.PARAMETERS}
    result: ValidatedTokenRequest = grant.handle(used, client, context)
    return result
