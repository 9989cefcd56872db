"""Store interfaces the protocol depends on, and the configured instances.

Spec: IdentityServer `IClientStore` / `IResourceStore`; one lookup per method, a domain object or
None back, so that a project can swap the store without touching protocol code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from identity.domain.client import Client
from identity.domain.grants import Consent, PersistedGrant
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


_instances: dict[str, Any] = {}


def _configured(name: str) -> Any:
    # One instance per process and setting: the stores hold no per-request state.
    store = _instances.get(name)
    if store is None:
        from identity.conf import identity_settings

        store = _instances[name] = getattr(identity_settings, name)()
    return store


def get_grant_store() -> PersistedGrantStore:
    """Return the configured persisted-grant store."""
    store: PersistedGrantStore = _configured("GRANT_STORE")
    return store


def get_consent_store() -> ConsentStore:
    """Return the configured consent store."""
    store: ConsentStore = _configured("CONSENT_STORE")
    return store


def get_user_store() -> UserStore:
    """Return the configured user store."""
    store: UserStore = _configured("USER_STORE")
    return store


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


_client_store: ClientStore | None = None
_resource_store: ResourceStore | None = None


def get_client_store() -> ClientStore:
    """Return the process's client store: the JSON file's clients first, then the cached store."""
    global _client_store
    if _client_store is None:
        _client_store = _build_client_store()
    return _client_store


def get_resource_store() -> ResourceStore:
    """Return the process's resource store: the JSON file's resources first, then the configured."""
    global _resource_store
    if _resource_store is None:
        _resource_store = _build_resource_store()
    return _resource_store


def reset_stores() -> None:
    """Drop the built stores so that the next call rebuilds them from settings."""
    global _client_store, _resource_store
    from identity.stores.config_file import config_file_stores
    from identity.stores.cors import reset_cors_policy
    from identity.tokens.keys import reset_key_ring

    _client_store = None
    _resource_store = None
    _instances.clear()
    config_file_stores.cache_clear()
    reset_cors_policy()
    reset_key_ring()


def _build_client_store() -> ClientStore:
    from identity.conf import identity_settings
    from identity.stores.caching import CachingClientStore
    from identity.stores.chain import ChainClientStore
    from identity.stores.validating import ValidatingClientStore

    store: ClientStore = identity_settings.CLIENT_STORE()
    if identity_settings.VALIDATE_CLIENTS_ON_READ:
        store = ValidatingClientStore(store)
    store = CachingClientStore(store)
    path = identity_settings.CLIENTS_FILE
    if path:
        from identity.stores.config_file import config_file_stores

        return ChainClientStore([config_file_stores(path)[0], store])
    return store


def _build_resource_store() -> ResourceStore:
    from identity.conf import identity_settings
    from identity.stores.caching import CachingResourceStore
    from identity.stores.chain import ChainResourceStore

    store: ResourceStore = CachingResourceStore(identity_settings.RESOURCE_STORE())
    path = identity_settings.CLIENTS_FILE
    if path:
        from identity.stores.config_file import config_file_stores

        return ChainResourceStore([config_file_stores(path)[1], store])
    return store
