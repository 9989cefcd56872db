"""The grant pipeline without HTTP or a database: handlers over the in-memory stores."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from identity.domain.grants import CodeData, PersistedGrant, RefreshTokenData
from identity.domain.requests import UserSession
from identity.domain.resources import STANDARD_IDENTITY_RESOURCES, Resources
from identity.grants import records
from identity.grants.handler import TokenRequestContext
from identity.grants.handles import handle_key, new_handle
from identity.stores.memory import (
    InMemoryPersistedGrantStore,
    InMemoryResourceStore,
    InMemoryUserStore,
)
from identity.tokens.keys import KeyRing
from tests.factories import make_resources

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ALICE = "alice-id"
SESSION = UserSession(ALICE, int(NOW.timestamp()) - 60, "sid-1", ("pwd",))
REDIRECT = "http://localhost:21402/signin-oidc"


class WriteRecorder(InMemoryPersistedGrantStore):
    """An in-memory grant store that records every write (validation must make none)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def store(self, grant: PersistedGrant) -> None:
        self.writes.append(f"store {grant.type}")
        super().store(grant)

    def consume(self, key: str, now: datetime) -> bool:
        self.writes.append("consume")
        return super().consume(key, now)

    def remove(self, key: str) -> None:
        self.writes.append("remove")
        super().remove(key)

    def remove_family(self, family: str) -> int:
        self.writes.append("remove_family")
        return super().remove_family(family)


@dataclass
class World:
    """Stores and a context at NOW; `code()` and `refresh()` plant grants and return handles."""

    grants: WriteRecorder = field(default_factory=WriteRecorder)
    users: InMemoryUserStore = field(
        default_factory=lambda: InMemoryUserStore({ALICE: {"name": "Alice"}}))
    resources: InMemoryResourceStore = field(default_factory=lambda: InMemoryResourceStore(
        Resources(identity_resources=STANDARD_IDENTITY_RESOURCES,
                  api_scopes=make_resources().api_scopes,
                  api_resources=make_resources().api_resources)))
    now: datetime = NOW
    grace: int = 0

    def context(self, **changes: Any) -> TokenRequestContext:
        values: dict[str, Any] = {
            "issuer": "https://id.example", "ring": cast(KeyRing, None),  # validation signs nothing
            "resources": self.resources, "grants": self.grants, "users": self.users,
            "now": self.now, "refresh_reuse_grace": self.grace}
        values.update(changes)
        return TokenRequestContext(**values)

    def code(self, client_id: str = "interactive", scopes: tuple[str, ...] = ("openid", "api1"),
             **data: Any) -> str:
        handle = new_handle()
        values: dict[str, Any] = {"redirect_uri": REDIRECT, "scopes": scopes,
                                  "auth_time": SESSION.auth_time, "nonce": "n-1"}
        values.update(data)
        self.grants.store(records.code_grant(handle_key(handle), client_id, SESSION,
                                             self.now - timedelta(seconds=10),
                                             self.now + timedelta(seconds=290),
                                             CodeData(**values)))
        self.grants.writes.clear()
        return handle

    def refresh(self, client_id: str = "interactive",
                scopes: tuple[str, ...] = ("openid", "api1", "offline_access"),
                family: str = "family-1", **changes: Any) -> str:
        handle = new_handle()
        grant = records.refresh_grant(handle_key(handle), client_id, SESSION, family,
                                      self.now - timedelta(hours=1),
                                      self.now + timedelta(days=1),
                                      RefreshTokenData(scopes=scopes,
                                                       auth_time=SESSION.auth_time))
        self.grants.store(replace(grant, **changes))
        self.grants.writes.clear()
        return handle


@pytest.fixture
def world() -> World:
    return World()
