"""Stores that consult several stores in order; the first hit wins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from identity.domain.client import Client
from identity.domain.resources import Resources
from identity.stores.interfaces import ClientStore, ResourceStore


class ChainClientStore:
    """Look a client up in each store in turn (e.g. the JSON file, then the database)."""

    def __init__(self, stores: Sequence[ClientStore]) -> None:
        self.stores = tuple(stores)

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the client from the first store that has it."""
        for store in self.stores:
            client = store.find_client_by_id(client_id)
            if client is not None:
                return client
        return None

    def all_clients(self) -> Iterator[Client]:
        """Yield every client once, an earlier store hiding a later one's client of the same id."""
        seen: set[str] = set()
        for store in self.stores:
            for client in store.all_clients():
                if client.client_id not in seen:
                    seen.add(client.client_id)
                    yield client


class ChainResourceStore:
    """Merge resources of several stores; an earlier store's name hides a later one's."""

    def __init__(self, stores: Sequence[ResourceStore]) -> None:
        self.stores = tuple(stores)

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return the named scopes from all stores, first store first."""
        wanted = tuple(names)
        return _merge(store.find_resources_by_scope_names(wanted) for store in self.stores)

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the named API resources from all stores, first store first."""
        wanted = tuple(names)
        return _merge(store.find_api_resources_by_name(wanted) for store in self.stores)

    def all_resources(self) -> Resources:
        """Return every resource from all stores, first store first."""
        return _merge(store.all_resources() for store in self.stores)


def _merge(parts: Iterable[Resources]) -> Resources:
    identity: dict[str, object] = {}
    scopes: dict[str, object] = {}
    apis: dict[str, object] = {}
    for part in parts:
        for r in part.identity_resources:
            identity.setdefault(r.name, r)
        for s in part.api_scopes:
            scopes.setdefault(s.name, s)
        for a in part.api_resources:
            apis.setdefault(a.name, a)
    return Resources(
        identity_resources=tuple(identity.values()),  # type: ignore[arg-type]
        api_scopes=tuple(scopes.values()),  # type: ignore[arg-type]
        api_resources=tuple(apis.values()),  # type: ignore[arg-type]
    )
