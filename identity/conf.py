"""The `IDENTITY` settings dictionary with documented defaults (after DRF's `api_settings`)."""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: Final[dict[str, Any]] = {
    # Absolute URL of this server, the `iss` of every token; None: taken from the request.
    "ISSUER": None,
    # Dotted path of the ClientStore class behind the cache (the database store of clients_app).
    "CLIENT_STORE": "clients_app.stores.OrmClientStore",
    # Dotted path of the ResourceStore class (scopes and resources).
    "RESOURCE_STORE": "clients_app.stores.OrmResourceStore",
    # IdentityServer JSON file whose clients and resources are served from memory, found first.
    "CLIENTS_FILE": None,
    # Seconds a client found in the database stays in Django's cache (IdentityServer: 15 min).
    "CLIENT_CACHE_TIMEOUT": 900,
    # Name of the Django cache (CACHES key) that holds clients.
    "CACHE_ALIAS": "default",
    # Skip clients that break the configuration rules when read from a store (logged).
    "VALIDATE_CLIENTS_ON_READ": True,
}
IMPORT_STRINGS: Final = frozenset({"CLIENT_STORE", "RESOURCE_STORE"})
REMOVED: Final[frozenset[str]] = frozenset()


class IdentitySettings:
    """Attribute access to `settings.IDENTITY` merged over DEFAULTS; dotted paths imported lazily."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        """Return the project's `IDENTITY` dictionary, checked for unknown and removed keys."""
        user = getattr(settings, "IDENTITY", {}) or {}
        for key in user:
            if key in REMOVED:
                raise RuntimeError(f"IDENTITY[{key!r}] has been removed; delete it.")
            if key not in DEFAULTS:
                raise RuntimeError(
                    f"IDENTITY[{key!r}] is not a setting; known: {', '.join(sorted(DEFAULTS))}.")
        return user

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid identity setting: {name!r}")
        if name not in self._cache:
            value = self.user_settings.get(name, DEFAULTS[name])
            if name in IMPORT_STRINGS and isinstance(value, str):
                value = import_string(value)
            self._cache[name] = value
        return self._cache[name]

    def reload(self) -> None:
        """Forget cached values (settings changed, e.g. in a test)."""
        self._cache.clear()


identity_settings = IdentitySettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "IDENTITY":
        identity_settings.reload()
        from identity import stores  # local: stores import this module

        stores.reset_stores()


setting_changed.connect(_reload)
