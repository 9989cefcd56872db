"""Invalidate the shared client cache whenever a client or one of its rows changes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from clients_app import models
from identity.stores.caching import invalidate_client

CHILD_MODELS = (
    models.ClientSecret, models.ClientGrantType, models.ClientRedirectUri,
    models.ClientPostLogoutRedirectUri, models.ClientScope, models.ClientCorsOrigin,
    models.ClientClaim, models.ClientProperty, models.ClientIdPRestriction,
)


def _invalidate_soon(*client_ids: str | None) -> None:
    # Now, so this process stops serving the old value; and after commit, so that no other
    # process re-caches a value read before the transaction became visible.
    for client_id in {c for c in client_ids if c}:
        invalidate_client(client_id)
        transaction.on_commit(lambda c=client_id: invalidate_client(c))


def client_changed(sender: Any, instance: models.Client, **kwargs: Any) -> None:
    """Drop the client, under its current and its previous id, from the cache."""
    _invalidate_soon(instance.client_id, getattr(instance, "_loaded_client_id", None))
    instance._loaded_client_id = instance.client_id


def child_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Drop the owning client from the cache."""
    try:
        client = instance.client
    except models.Client.DoesNotExist:  # deleted in the same cascade
        return
    _invalidate_soon(client.client_id)


def connect() -> None:
    """Connect the receivers (called from AppConfig.ready)."""
    for signal in (post_save, post_delete):
        signal.connect(client_changed, sender=models.Client, dispatch_uid=f"client-{signal}")
        for model in CHILD_MODELS:
            signal.connect(child_changed, sender=model, dispatch_uid=f"{model.__name__}-{signal}")
