"""Builders shared by the unit tests of `identity.validation`: resources, stores, PKCE pairs."""

from __future__ import annotations

from typing import Final

from hypothesis import settings

from identity.domain.resources import (
    STANDARD_IDENTITY_RESOURCES,
    ApiResource,
    ApiScope,
    IdentityResource,
    Resources,
)
from identity.stores.memory import InMemoryResourceStore
from tests.helpers.pkce import s256 as s256  # independent of identity.validation.pkce

# Every property test: the same examples each run (main never fails by chance), no example
# database, no deadline (a loaded CI machine is not a failure).
PROPERTY: Final = settings(max_examples=100, derandomize=True, database=None, deadline=None)

# 43 characters of the unreserved set: the shortest verifier RFC 7636 §4.1 allows.
VERIFIER: Final = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
UNRESERVED: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def resources() -> Resources:
    """Return a resource set with every case the scope rules tell apart.

    - the standard identity resources, a custom one (`roles`) and a disabled one (`legacy`);
    - enabled API scopes `api1`, `api2.read_only`, `shared` and a disabled `api.disabled`;
    - `api1` owns `api1` and `shared`; `api2` owns `api2.read_only`; `retired` is a disabled API
      owning `api1`; `dark` owns only the disabled scope.
    """
    return Resources(
        identity_resources=STANDARD_IDENTITY_RESOURCES + (
            IdentityResource(name="roles", user_claims=("role",)),
            IdentityResource(name="legacy", enabled=False, user_claims=("legacy_id",)),
        ),
        api_scopes=(ApiScope(name="api1"), ApiScope(name="api2.read_only"),
                    ApiScope(name="shared"), ApiScope(name="api.disabled", enabled=False)),
        api_resources=(
            ApiResource(name="api1", scopes=("api1", "shared")),
            ApiResource(name="api2", scopes=("api2.read_only",)),
            ApiResource(name="retired", enabled=False, scopes=("api1",)),
            ApiResource(name="dark", scopes=("api.disabled",)),
        ),
    )


def resource_store() -> InMemoryResourceStore:
    """Return an in-memory store over `resources()`."""
    return InMemoryResourceStore(resources())
