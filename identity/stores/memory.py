"""Stores over Python objects (IdentityServer `InMemoryClientStore` / `InMemoryResourcesStore`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from identity.domain.client import Client
from identity.domain.resources import Resources


class InMemoryClientStore:
    """Clients held in a dict; duplicate ids are refused, as IdentityServer does."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self._clients: dict[str, Client] = {}
        for client in clients:
            if client.client_id in self._clients:
                raise ValueError(f"client {client.client_id!r} is defined more than once.")
            self._clients[client.client_id] = client

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the client with this id or None."""
        return self._clients.get(client_id)

    def all_clients(self) -> Iterator[Client]:
        """Yield every client."""
        return iter(tuple(self._clients.values()))


class InMemoryResourceStore:
    """Resources held as one `Resources` value; duplicate names are refused."""

    def __init__(self, resources: Resources) -> None:
        for label, names in (
            ("identity resource", [r.name for r in resources.identity_resources]),
            ("API scope", [s.name for s in resources.api_scopes]),
            ("API resource", [r.name for r in resources.api_resources]),
        ):
            if len(set(names)) != len(names):
                raise ValueError(f"an {label} name is defined more than once.")
        self._resources = resources

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return identity resources and API scopes named, with the API resources owning them."""
        wanted = set(names)
        res = self._resources
        return Resources(
            identity_resources=tuple(r for r in res.identity_resources if r.name in wanted),
            api_scopes=tuple(s for s in res.api_scopes if s.name in wanted),
            api_resources=tuple(r for r in res.api_resources if wanted.intersection(r.scopes)),
        )

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the API resources with these names."""
        wanted = set(names)
        return Resources(
            api_resources=tuple(r for r in self._resources.api_resources if r.name in wanted))

    def all_resources(self) -> Resources:
        """Return everything."""
        return self._resources
