"""Stores over Python objects (IdentityServer `InMemoryClientStore`, `InMemoryResourcesStore`,
`InMemoryPersistedGrantStore`): for tests, and for a single process that may lose its grants."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from identity.domain.client import Client
from identity.domain.grants import (
    GRANT_ISSUED_JTI,
    GRANT_REVOKED_JTI,
    PersistedGrant,
)
from identity.domain.resources import Resources
from identity.grants.records import deny_list_entry, issued_jwt_data

# Distinct scope sets whose resources an InMemoryResourceStore keeps found.
FOUND_LIMIT = 1024


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
        # Answers by the set of names asked: the resources never change (a change makes a new
        # store), and a token request asks with the same few scopes every time.
        self._found: dict[frozenset[str], Resources] = {}

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return identity resources and API scopes named, with the API resources owning them."""
        wanted = frozenset(names)
        found = self._found.get(wanted)
        if found is None:
            res = self._resources
            found = Resources(
                identity_resources=tuple(r for r in res.identity_resources if r.name in wanted),
                api_scopes=tuple(s for s in res.api_scopes if s.name in wanted),
                api_resources=tuple(r for r in res.api_resources
                                    if wanted.intersection(r.scopes)),
            )
            if len(self._found) >= FOUND_LIMIT:
                self._found.clear()
            self._found[wanted] = found
        return found

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the API resources with these names."""
        wanted = set(names)
        return Resources(
            api_resources=tuple(r for r in self._resources.api_resources if r.name in wanted))

    def __getstate__(self) -> dict[str, Any]:
        # The shared cache holds the resources, not what this process found in them.
        return {"_resources": self._resources}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._resources = state["_resources"]
        self._found = {}

    def all_resources(self) -> Resources:
        """Return everything."""
        return self._resources


class InMemoryPersistedGrantStore:
    """Grants in a dict of one process, with the database store's semantics: one-time
    consumption under a lock, and revoked families' JWTs put on the deny list."""

    def __init__(self) -> None:
        self.grants: dict[str, PersistedGrant] = {}
        self._lock = threading.Lock()

    def store(self, grant: PersistedGrant) -> None:
        """Save a new grant; recording an issued JWT that is already recorded does nothing."""
        with self._lock:
            if grant.type == GRANT_ISSUED_JTI and grant.key in self.grants:
                return
            if grant.key in self.grants:
                raise ValueError(f"a grant with key {grant.key!r} exists already")
            self.grants[grant.key] = grant

    def get(self, key: str) -> PersistedGrant | None:
        """Return the grant under `key`, or None."""
        return self.grants.get(key)

    def consume(self, key: str, now: datetime) -> bool:
        """Mark the grant used; True only for the first caller."""
        with self._lock:
            grant = self.grants.get(key)
            if grant is None or grant.consumed is not None:
                return False
            self.grants[key] = replace(grant, consumed=now)
            return True

    def set_expiration(self, key: str, expires: datetime | None) -> None:
        """Move a grant's expiration."""
        with self._lock:
            grant = self.grants.get(key)
            if grant is not None:
                self.grants[key] = replace(grant, expires=expires)

    def remove_family(self, family: str) -> int:
        """Delete a family's grants; its recorded JWTs go on the deny list until they expire."""
        with self._lock:
            members = [g for g in self.grants.values() if g.family == family]
            for grant in members:
                del self.grants[grant.key]
            for grant in members:
                if grant.type == GRANT_ISSUED_JTI:
                    issued = issued_jwt_data(grant.data)
                    entry = deny_list_entry(issued.jti, issued.exp, grant.client_id,
                                            grant.subject_id, grant.created)
                    self.grants[entry.key] = entry
            return len(members)

    def remove(self, key: str) -> None:
        """Delete one grant."""
        with self._lock:
            self.grants.pop(key, None)

    def remove_all(self, subject_id: str, client_id: str) -> int:
        """Delete every grant of a user for a client, deny-list entries excepted."""
        with self._lock:
            doomed = [g for g in self.grants.values() if g.subject_id == subject_id
                      and g.client_id == client_id and g.type != GRANT_REVOKED_JTI]
        removed = 0
        for family in {g.family for g in doomed if g.family}:
            removed += self.remove_family(family)
        with self._lock:
            for grant in doomed:
                if self.grants.pop(grant.key, None) is not None:
                    removed += 1
        return removed


class InMemoryUserStore:
    """Users as a mapping of subject id to claims; those in `inactive` may get no tokens."""

    def __init__(self, users: Mapping[str, Mapping[str, Any]],
                 inactive: Iterable[str] = ()) -> None:
        self.users = {subject: dict(claims) for subject, claims in users.items()}
        self.inactive = set(inactive)

    def is_active(self, subject_id: str) -> bool:
        """Tell whether the user exists and is active."""
        return subject_id in self.users and subject_id not in self.inactive

    def claims(self, subject_id: str, claim_types: Iterable[str]) -> dict[str, Any]:
        """Return the user's claims of these types."""
        own = self.users.get(subject_id, {})
        return {name: own[name] for name in claim_types if name in own}
