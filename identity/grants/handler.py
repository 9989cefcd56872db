"""What a grant is to the pipeline: the `GrantHandler` protocol and a token request's context.

A handler validates and decides; it never writes. What its decision changes in the store (the
`Redemption` of the request it returns) is applied by the pipeline, in the transaction that
stores what is issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from identity.domain.client import Client
from identity.domain.requests import ValidatedTokenRequest
from identity.stores.interfaces import (
    DeviceFlowStore,
    PersistedGrantStore,
    ResourceStore,
    UserStore,
)
from identity.tokens.keys import KeyRing

ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
ID_TOKEN = "id_token"


@dataclass(frozen=True, slots=True)
class TokenRequestContext:
    """Everything a token request consults besides its parameters and client."""

    issuer: str
    ring: KeyRing
    resources: ResourceStore
    grants: PersistedGrantStore
    users: UserStore
    now: datetime
    refresh_reuse_grace: int = 0
    static_audience: str | None = None
    # The thumbprint of the request's checked DPoP proof key (RFC 9449 §5), if it sent one.
    dpop_jkt: str | None = None
    # Device authorization requests (RFC 8628), for the device code grant.
    devices: DeviceFlowStore | None = None


class GrantHandler(Protocol):
    """One `grant_type` of the token endpoint.

    `parameters`: the request parameters it reads (others are dropped before `validate`).
    `redeems`: the kind of persisted grant it consumes, or None (then no transaction is needed).
    `issues`: the tokens it may issue (`ACCESS_TOKEN`, `REFRESH_TOKEN`, `ID_TOKEN`); a refresh
    token or ID token is issued only when listed here and the request earns it.
    """

    @property
    def grant_type(self) -> str: ...

    @property
    def parameters(self) -> frozenset[str]: ...

    @property
    def redeems(self) -> str | None: ...

    @property
    def issues(self) -> frozenset[str]: ...

    def client_may_use(self, client: Client) -> bool:
        """Tell whether the client's configuration allows this grant."""
        ...

    def validate(self, params: Mapping[str, str], client: Client,
                 context: TokenRequestContext) -> ValidatedTokenRequest:
        """Check the request and return what to issue; raise an `OAuthError` to refuse."""
        ...
