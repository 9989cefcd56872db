"""Keep shared caches right when configuration rows change, and record client use."""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from clients_app import models
from identity import signals
from identity.conf import identity_settings
from identity.freshness import configuration_changed
from identity.stores.caching import invalidate_client, invalidate_resources
from identity.stores.cors import invalidate_origin

logger = logging.getLogger(__name__)
CHILD_MODELS = (
    models.ClientSecret, models.ClientGrantType, models.ClientRedirectUri,
    models.ClientPostLogoutRedirectUri, models.ClientScope, models.ClientCorsOrigin,
    models.ClientClaim, models.ClientProperty, models.ClientIdPRestriction,
)
RESOURCE_MODELS = (
    models.IdentityResource, models.IdentityResourceClaim, models.ApiScope, models.ApiScopeClaim,
    models.ApiResource, models.ApiResourceScope, models.ApiResourceClaim, models.ApiResourceSecret,
)


def _soon(action: Any, *keys: str | None) -> None:
    # Now, so this process stops serving the old value; and after commit, so that no other
    # process re-caches a value read before the transaction became visible. The generation
    # reaches the processes whose caches are not shared.
    configuration_changed()
    for key in {k for k in keys if k}:
        action(key)
        transaction.on_commit(functools.partial(action, key))


def client_changed(sender: Any, instance: models.Client, **kwargs: Any) -> None:
    """Drop the client, under its current and its previous id, from the cache."""
    _soon(invalidate_client, instance.client_id, getattr(instance, "_loaded_client_id", None))
    instance._loaded_client_id = instance.client_id


def child_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Drop the owning client (and a changed CORS origin) from the caches."""
    if isinstance(instance, models.ClientCorsOrigin):
        _soon(invalidate_origin, instance.origin)
    try:
        client = instance.client
    except models.Client.DoesNotExist:  # deleted in the same cascade
        return
    _soon(invalidate_client, client.client_id)


def resource_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Drop the cached resource snapshot."""
    _soon(lambda _: invalidate_resources(), "resources")


def record_client_use(sender: Any, client_id: str, **kwargs: Any) -> None:
    """Write the client's last-used time, at most once per interval across all processes."""
    interval = identity_settings.LAST_USED_INTERVAL
    try:
        if not caches[identity_settings.CACHE_ALIAS].add(f"identity:lastused:v1:{client_id}",
                                                         1, interval):
            return
        # update() sends no post_save: the cached client stays valid.
        models.Client.objects.filter(client_id=client_id).update(last_accessed=timezone.now())
    except Exception:  # bookkeeping only: never fail a token request for it
        logger.warning("could not record last use of client %r", client_id, exc_info=True)


def connect() -> None:
    """Connect the receivers (called from AppConfig.ready)."""
    for signal in (post_save, post_delete):
        signal.connect(client_changed, sender=models.Client, dispatch_uid=f"client-{signal}")
        for model in CHILD_MODELS:
            signal.connect(child_changed, sender=model, dispatch_uid=f"{model.__name__}-{signal}")
        for resource_model in RESOURCE_MODELS:
            signal.connect(resource_changed, sender=resource_model,
                           dispatch_uid=f"{resource_model.__name__}-{signal}")
    signals.client_used.connect(record_client_use, dispatch_uid="clients_app-last-used")
