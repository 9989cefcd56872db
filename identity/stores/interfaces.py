"""The store interfaces the protocol depends on, all in one place.

Spec: IdentityServer `IClientStore`, `IResourceStore`, `IPersistedGrantStore`, `IUserConsentStore`,
`ICorsPolicyService`, `ISigningKeyStore`: one lookup per method, a domain object or None back, so
that a project can swap a store (the `*_STORE` settings) without touching protocol code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from identity.domain.client import Client
from identity.domain.device import DeviceAuthorization
from identity.domain.grants import Consent, PersistedGrant
from identity.domain.keys import StoredKey
from identity.domain.resources import Resources


class ClientStore(Protocol):
    """Where clients come from."""

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the client with this id, enabled or not, or None."""
        ...

    def all_clients(self) -> Iterator[Client]:
        """Yield every client the store holds."""
        ...


class ResourceStore(Protocol):
    """Where identity resources, API scopes and API resources come from."""

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return identity resources and API scopes with these names, and the APIs owning them."""
        ...

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the API resources with these names (introspection callers)."""
        ...

    def all_resources(self) -> Resources:
        """Return every resource the store holds."""
        ...


class PersistedGrantStore(Protocol):
    """Codes and refresh tokens, keyed by the SHA-256 of their handle."""

    def store(self, grant: PersistedGrant) -> None:
        """Save a new grant; a record of an issued JWT whose key exists already is kept as is
        (two identical tokens without `jti`, issued in the same second)."""
        ...

    def get(self, key: str) -> PersistedGrant | None:
        """Return the grant under `key`, or None."""
        ...

    def consume(self, key: str, now: datetime) -> bool:
        """Mark the grant used; True only for the first caller, however many race."""
        ...

    def set_expiration(self, key: str, expires: datetime | None) -> None:
        """Move a grant's expiration (sliding refresh tokens)."""
        ...

    def remove_family(self, family: str) -> int:
        """Delete every grant that came from `family`."""
        ...

    def remove(self, key: str) -> None:
        """Delete one grant."""
        ...

    def remove_all(self, subject_id: str, client_id: str) -> int:
        """Delete every grant of a user for a client."""
        ...


class DeviceFlowStore(Protocol):
    """Device authorization requests (RFC 8628), keyed by the hashes of their two codes."""

    def create(self, record: DeviceAuthorization, now: datetime) -> bool:
        """Save a new request; False when a live request already has its user code."""
        ...

    def by_device_code(self, device_key: str) -> DeviceAuthorization | None:
        """Return the request whose device code hashes to `device_key`, or None."""
        ...

    def by_user_code(self, user_key: str) -> DeviceAuthorization | None:
        """Return the request whose user code hashes to `user_key`, or None."""
        ...

    def decide(self, record: DeviceAuthorization, now: datetime) -> bool:
        """Record the user's decision (status, user, scopes) on a pending, unexpired request;
        True only for the first decision, however many race."""
        ...

    def record_poll(self, device_key: str, seen: datetime | None, now: datetime,
                    interval: int) -> bool:
        """Note a poll at `now` with the request's `interval`, if its last poll is still `seen`;
        False when another poll got there first."""
        ...

    def consume(self, device_key: str, now: datetime) -> bool:
        """Mark an approved request used; True only for the first caller, however many race."""
        ...


class ConsentStore(Protocol):
    """Remembered consents."""

    def get(self, subject_id: str, client_id: str) -> Consent | None:
        """Return the user's consent for the client, or None."""
        ...

    def save(self, consent: Consent) -> None:
        """Create or replace the user's consent for the client."""
        ...

    def remove(self, subject_id: str, client_id: str) -> None:
        """Forget the user's consent for the client."""
        ...

    def for_subject(self, subject_id: str) -> Iterable[Consent]:
        """Return every consent of a user."""
        ...


class UserStore(Protocol):
    """The users that sign in."""

    def is_active(self, subject_id: str) -> bool:
        """Tell whether the user exists and may still get tokens."""
        ...

    def claims(self, subject_id: str, claim_types: Iterable[str]) -> dict[str, Any]:
        """Return the user's claims of these types."""
        ...


class CorsPolicy(Protocol):
    """Decide whether an origin belongs to an enabled client."""

    def is_origin_allowed(self, origin: str) -> bool:
        """Return True when some enabled client lists `origin`."""
        ...


class SigningKeyStore(Protocol):
    """Where keys are kept: every process must see the same ones."""

    def keys(self, algorithm: str) -> list[StoredKey]:
        """Return every stored key of one algorithm."""
        ...

    def add(self, key: StoredKey) -> bool:
        """Store a key; False when that generation exists already."""
        ...

    def revoke(self, kids: list[str], at: datetime) -> list[StoredKey]:
        """Mark keys revoked; return those that were not revoked already."""
        ...

    def delete_expired(self, now: datetime) -> int:
        """Delete keys past their expiry (revoked ones too, once they would have expired)."""
        ...


def any_client_allows_plain_pkce(store: ClientStore) -> bool:
    """Tell whether some enabled client of `store` may use PKCE `plain` (discovery lists it).

    A store answers with its own `allows_plain_pkce()` when it has one (the database store: one
    EXISTS query); chains and decorators ask what they wrap; any other store is read whole.
    """
    own = getattr(store, "allows_plain_pkce", None)
    if own is not None:
        return bool(own())
    if isinstance(getattr(store, "stores", None), tuple):
        return any(any_client_allows_plain_pkce(s) for s in store.stores)  # type: ignore[attr-defined]
    inner = getattr(store, "inner", None)
    if inner is not None:
        return any_client_allows_plain_pkce(inner)
    return any(c.enabled and c.allow_plain_text_pkce for c in store.all_clients())


def find_enabled_client(store: ClientStore, client_id: str) -> Client | None:
    """Return the client only when it exists and is enabled."""
    client = store.find_client_by_id(client_id)
    return client if client is not None and client.enabled else None


@dataclass(frozen=True)
class Registration:
    """A dynamically registered client (RFC 7591): the client, the SHA-256 (hex) of its
    registration access token, when it was registered, and the RFC metadata that has no column
    of its own (contacts, policy_uri, tos_uri, software_id, token_endpoint_auth_method...)."""

    client: Client
    token_hash: str
    issued_at: datetime
    metadata: Mapping[str, Any] = field(default_factory=dict)


class ClientRegistrationStore(Protocol):
    """Where registered clients are written, read back and deleted (RFC 7591, RFC 7592).

    Every write is one transaction with its audit record (`actor`, `changes`: field -> (before,
    after), never a secret) and makes the client stores forget the client.
    """

    def create(self, registration: Registration, *, actor: str,
               changes: Mapping[str, tuple[Any, Any]]) -> None:
        """Store a new client and its registration."""
        ...

    def get(self, client_id: str) -> Registration | None:
        """Return the registration of a registered client, or None (unknown or not registered)."""
        ...

    def replace(self, registration: Registration, *, actor: str,
                changes: Mapping[str, tuple[Any, Any]]) -> bool:
        """Replace the client and its metadata; False when it is no longer registered."""
        ...

    def delete(self, client_id: str, *, actor: str) -> bool:
        """Delete the client, its registration, grants and consents; False when not found."""
        ...
