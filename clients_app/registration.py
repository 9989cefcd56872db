"""The database store of dynamically registered clients (RFC 7591, RFC 7592).

A registered client is an ordinary `Client` row with its child rows, plus one
`ClientRegistration` row: the SHA-256 of its registration access token, when it was registered,
and the metadata without a column. Every write is one transaction that takes the configuration
lock (as the import and the admin do), writes its audit record, bumps the configuration
generation and drops the client from the caches, now and again after commit.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from clients_app import models
from clients_app.importing import lock_configuration
from clients_app.mapping import (
    CLIENT_CHILDREN,
    client_child_rows,
    client_column_values,
    real_models,
)
from clients_app.stores import OrmClientStore
from identity import audit
from identity.freshness import configuration_changed
from identity.stores.caching import invalidate_client
from identity.stores.interfaces import Registration
from identity.stores.orm_grants import forget_client

VIA = "registration"


def _forget(client_id: str) -> None:
    # Now for this process, after commit so that no process caches what was read before it.
    configuration_changed()
    invalidate_client(client_id)
    transaction.on_commit(functools.partial(invalidate_client, client_id))


def _write_children(row: models.Client, registration: Registration) -> None:
    for attr, rows in client_child_rows(real_models(), row, registration.client).items():
        getattr(models, CLIENT_CHILDREN[attr].model).objects.bulk_create(rows)


class OrmClientRegistrationStore:
    """Registered clients in the `clients_app` tables."""

    def create(self, registration: Registration, *, actor: str,
               changes: Mapping[str, tuple[Any, Any]]) -> None:
        """Store the client, its collections and its registration, with the audit record."""
        client = registration.client
        with transaction.atomic():
            lock_configuration()
            row = models.Client(**client_column_values(client))
            row.save()
            _write_children(row, registration)
            models.ClientRegistration.objects.create(
                client=row, token_hash=registration.token_hash,
                issued_at=registration.issued_at, metadata=dict(registration.metadata))
            audit.record(actor=actor, via=VIA, action="create", target_type="client",
                         target=client.client_id, changes=changes)
            _forget(client.client_id)

    def get(self, client_id: str) -> Registration | None:
        """Return the registration and the client as stored now (never from a cache)."""
        found = models.ClientRegistration.objects.filter(client__client_id=client_id).values_list(
            "token_hash", "issued_at", "metadata").first()
        if found is None:
            return None
        client = OrmClientStore().find_client_by_id(client_id)
        if client is None:  # deleted meanwhile
            return None
        token_hash, issued_at, metadata = found
        return Registration(client=client, token_hash=token_hash, issued_at=issued_at,
                            metadata=metadata or {})

    def replace(self, registration: Registration, *, actor: str,
                changes: Mapping[str, tuple[Any, Any]]) -> bool:
        """Replace the client's columns, every collection and the metadata, with the audit
        record; False when the client is no longer registered."""
        client = registration.client
        with transaction.atomic():
            lock_configuration()
            row = models.Client.objects.select_for_update().filter(
                client_id=client.client_id, registration__isnull=False).first()
            if row is None:
                return False
            for column, value in client_column_values(client).items():
                setattr(row, column, value)
            row.save()
            for child in CLIENT_CHILDREN.values():
                getattr(models, child.model).objects.filter(client=row).delete()
            _write_children(row, registration)
            models.ClientRegistration.objects.filter(client=row).update(
                metadata=dict(registration.metadata), updated=timezone.now())
            audit.record(actor=actor, via=VIA, action="change", target_type="client",
                         target=client.client_id, changes=changes)
            _forget(client.client_id)
        return True

    def delete(self, client_id: str, *, actor: str) -> bool:
        """Delete the client (its registration and collections cascade), the grants it holds and
        its consents (`forget_client`)."""
        with transaction.atomic():
            lock_configuration()
            rows = models.Client.objects.filter(client_id=client_id, registration__isnull=False)
            if not rows.exists():
                return False
            rows.delete()
            grants, consents = forget_client(client_id)
            audit.record(actor=actor, via=VIA, action="delete", target_type="client",
                         target=client_id, changes={"grants": (grants, 0),
                                                    "consents": (consents, 0)})
            _forget(client_id)
        return True
