"""The stores this process uses and its key ring, built once from settings, and their reset.

Each getter builds its object on first use from the `IDENTITY` settings; `reset_stores()` drops
them all, when the settings change (a test) or by hand.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed

from identity.domain.keys import RotationPolicy
from identity.stores.interfaces import (
    ClientRegistrationStore,
    ClientStore,
    ConsentStore,
    CorsPolicy,
    DeviceFlowStore,
    PersistedGrantStore,
    ResourceStore,
    SigningKeyStore,
    UserStore,
)
from identity.tokens.keys import KeyRing

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


def get_device_store() -> DeviceFlowStore:
    """Return the configured store of device authorization requests (RFC 8628)."""
    store: DeviceFlowStore = _configured("DEVICE_FLOW_STORE")
    return store


def get_consent_store() -> ConsentStore:
    """Return the configured consent store."""
    store: ConsentStore = _configured("CONSENT_STORE")
    return store


def get_signing_key_store() -> SigningKeyStore:
    """Return the configured signing-key store."""
    store: SigningKeyStore = _configured("SIGNING_KEY_STORE")
    return store


def get_client_registration_store() -> ClientRegistrationStore:
    """Return the configured store of dynamically registered clients (RFC 7591)."""
    store: ClientRegistrationStore = _configured("CLIENT_REGISTRATION_STORE")
    return store


def get_user_store() -> UserStore:
    """Return the configured user store."""
    store: UserStore = _configured("USER_STORE")
    return store


_client_store: ClientStore | None = None
_cors_policy: CorsPolicy | None = None
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
    global _cors_policy
    from identity.stores.config_file import config_file_stores

    _client_store = None
    _resource_store = None
    _cors_policy = None
    _instances.clear()
    config_file_stores.cache_clear()
    reset_key_ring()


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "IDENTITY":
        reset_stores()


setting_changed.connect(_settings_changed)


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


def get_cors_policy() -> CorsPolicy:
    """Return the process's CORS policy: the JSON file's clients, then the cached store's."""
    global _cors_policy
    if _cors_policy is None:
        from identity.conf import identity_settings
        from identity.stores.cors import CachingCorsPolicy, ChainCorsPolicy, ClientListCorsPolicy

        policy: CorsPolicy = CachingCorsPolicy(identity_settings.CORS_POLICY())
        path = identity_settings.CLIENTS_FILE
        if path:
            from identity.stores.config_file import config_file_stores

            file_policy = ClientListCorsPolicy(config_file_stores(path)[0].all_clients())
            policy = ChainCorsPolicy([file_policy, policy])
        _cors_policy = policy
    return _cors_policy


_ring: KeyRing | None = None
_ring_lock = threading.Lock()


def get_key_ring() -> KeyRing:
    """Return this process's key ring, built from settings and the signing-key store."""
    global _ring
    if _ring is None:
        with _ring_lock:
            if _ring is None:
                _ring = _build_key_ring()
    return _ring


def reset_key_ring() -> None:
    """Forget the key ring and the keys it loaded."""
    global _ring
    _ring = None


def _build_key_ring() -> KeyRing:
    from django.conf import settings

    from identity.conf import identity_settings
    from identity.freshness import current_generation

    policy = RotationPolicy(identity_settings.KEY_ROTATION_INTERVAL,
                            identity_settings.KEY_PROPAGATION_TIME,
                            identity_settings.KEY_RETENTION)
    return KeyRing(get_signing_key_store(), list(identity_settings.SIGNING_ALGORITHMS), policy,
                   identity_settings.KEY_ENCRYPTION_SECRET or settings.SECRET_KEY,
                   identity_settings.KEY_REFRESH_INTERVAL, current_generation)
