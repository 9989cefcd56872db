"""Upsert clients, scopes and resources from an IdentityServer document, all or nothing.

Shared by `manage.py import_clients` and data migrations (`seeding.py`), which pass historical
models. Clients are matched by ClientId, scopes and resources by Name.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from clients_app.mapping import (
    CLIENT_CHILDREN,
    ModelSet,
    client_child_rows,
    client_column_values,
    client_to_domain,
    resource_child_rows,
    resource_column_values,
    resource_model_names,
    resource_to_domain,
)
from identity.config_document import ConfigDocument, ConfigDocumentError
from identity.domain.client import Client
from identity.domain.resources import (
    STANDARD_IDENTITY_RESOURCES,
    ApiResource,
    ApiScope,
    IdentityResource,
)
from identity.freshness import configuration_changed
from identity.identityserver_names import json_name
from identity.stores.caching import invalidate_client, invalidate_resources
from identity.validation.client_config import scope_problems

BATCH = 500
_STANDARD = {r.name for r in STANDARD_IDENTITY_RESOURCES}
_RESOURCE_CLASSES = (IdentityResource, ApiScope, ApiResource)
_LABELS = {Client: "client", IdentityResource: "identity resource", ApiScope: "API scope",
           ApiResource: "API resource"}
# Any number will do, as long as every writer that takes the lock uses the same one.
_LOCK_KEY = 0x6964656E74697479  # "identity"


@dataclass
class Change:
    """One object the import creates, changes or deletes; `fields` lists what differs."""

    kind: str
    name: str
    action: str
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)

    def describe(self) -> Iterator[str]:
        """Yield human-readable lines; secret values never appear."""
        yield f"{self.action} {self.kind} {self.name!r}"
        for attr, old, new in self.fields:
            if attr in ("client_secrets", "api_secrets"):
                yield f"    {json_name(attr)}: {len(old)} secret(s) -> {len(new)} secret(s)"
            else:
                yield f"    {json_name(attr)}: {_show(old)} -> {_show(new)}"


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):
        return repr(value)
    return getattr(value, "name", None) or repr(value)


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    def count(self, action: str) -> int:
        """Count the changes of one action: create, change or delete."""
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> str:
        """Return one line of totals."""
        return (f"{self.count('create')} created, {self.count('change')} changed, "
                f"{self.count('delete')} deleted, {self.unchanged} unchanged")


def import_document(document: ConfigDocument, models: ModelSet, *, prune: bool = False,
                    dry_run: bool = False) -> ImportReport:
    """Upsert everything `document` defines; with `prune`, delete what it does not name.

    Raises ConfigDocumentError, writing nothing, when a client names a scope that would not exist.
    """
    with transaction.atomic():
        lock_configuration()
        _check_scopes(document, models, prune)
        report = ImportReport()
        for cls in _RESOURCE_CLASSES:
            _import_resources(cls, _document_resources(document, cls), models, prune, dry_run,
                              report)
        touched = _import_clients(document.clients, models, prune, dry_run, report)
        if dry_run:
            transaction.set_rollback(True)
        else:
            for client_id in touched:
                invalidate_client(client_id)
                transaction.on_commit(functools.partial(invalidate_client, client_id))
            # Historical models (data migrations) send no signals: invalidate by hand.
            invalidate_resources()
            transaction.on_commit(invalidate_resources)
            configuration_changed()
    return report


def lock_configuration() -> None:
    """Wait for the imports and admin saves that are running, and make new ones wait until the
    current transaction ends.

    An import reads what exists, then writes what differs: two at once would both create a new
    client or scope (one failing on its unique name) or each write its own changes over a state
    the other replaced, leaving a mix of both documents. PostgreSQL only: SQLite has a single
    writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _document_resources(document: ConfigDocument, cls: type) -> tuple[Any, ...]:
    res = document.resources
    return {IdentityResource: res.identity_resources, ApiScope: res.api_scopes,
            ApiResource: res.api_resources}[cls]


def _check_scopes(document: ConfigDocument, models: ModelSet, prune: bool) -> None:
    known = {"offline_access"}
    for cls in (IdentityResource, ApiScope):
        known.update(r.name for r in _document_resources(document, cls))
        if not prune:
            model = getattr(models, resource_model_names(cls)[0])
            known.update(model.objects.values_list("name", flat=True))
    problems = [f"client {c.client_id!r}, AllowedScopes: {m}" for c in document.clients
                for m in scope_problems(c.allowed_scopes, known)]
    if problems:
        raise ConfigDocumentError(problems)


def _diff(old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    return [(f.name, getattr(old, f.name), getattr(new, f.name)) for f in dataclasses.fields(new)
            if getattr(old, f.name) != getattr(new, f.name)]


def _import_resources(cls: type, wanted: Iterable[Any], models: ModelSet, prune: bool,
                      dry_run: bool, report: ImportReport) -> None:
    model_name, children = resource_model_names(cls)
    model = getattr(models, model_name)
    existing = {r.name: r for r in model.objects.prefetch_related(*children)}
    named = set()
    for resource in wanted:
        named.add(resource.name)
        row = existing.get(resource.name)
        if row is None:
            report.changes.append(Change(_LABELS[cls], resource.name, "create"))
            row = model()
        else:
            diff = _diff(resource_to_domain(cls, row), resource)
            if not diff:
                report.unchanged += 1
                continue
            report.changes.append(Change(_LABELS[cls], resource.name, "change", diff))
        if dry_run:
            continue
        for column, value in resource_column_values(resource).items():
            setattr(row, column, value)
        row.save()
        for attr in children:
            getattr(row, attr).all().delete()
        for child in resource_child_rows(models, row, resource):
            child.save()
    if prune:
        # The standard identity resources exist out of the box and are never pruned.
        stale = set(existing) - named - (_STANDARD if cls is IdentityResource else set())
        for name in sorted(stale):
            report.changes.append(Change(_LABELS[cls], name, "delete"))
        if not dry_run:
            model.objects.filter(name__in=stale).delete()


def _import_clients(clients: tuple[Client, ...], models: ModelSet, prune: bool, dry_run: bool,
                    report: ImportReport) -> set[str]:
    touched: set[str] = set()
    ids = [c.client_id for c in clients]
    existing = _existing_clients(models, ids)
    new_clients: list[Client] = []
    for client in clients:
        found = existing.get(client.client_id)
        if found is None:
            report.changes.append(Change("client", client.client_id, "create"))
            new_clients.append(client)
            continue
        row, current = found
        diff = _diff(current, client)
        if not diff:
            report.unchanged += 1
            continue
        report.changes.append(Change("client", client.client_id, "change", diff))
        touched.add(client.client_id)
        if not dry_run:
            _update_client(models, row, client, [attr for attr, _, _ in diff])
    if not dry_run:
        _create_clients(models, new_clients)
    touched.update(c.client_id for c in new_clients)
    if prune:
        stale_ids = sorted(
            set(models.Client.objects.values_list("client_id", flat=True)) - set(ids))
        for client_id in stale_ids:
            report.changes.append(Change("client", client_id, "delete"))
        if not dry_run:
            for start in range(0, len(stale_ids), BATCH):
                models.Client.objects.filter(client_id__in=stale_ids[start:start + BATCH]).delete()
        touched.update(stale_ids)
    return touched


def _existing_clients(models: ModelSet, ids: list[str]) -> dict[str, tuple[Any, Client]]:
    """Load the rows and domain values of the named clients, a batch at a time."""
    found: dict[str, tuple[Any, Client]] = {}
    for start in range(0, len(ids), BATCH):
        rows = list(models.Client.objects.filter(client_id__in=ids[start:start + BATCH]))
        for row, client in zip(rows, domain_clients(models, rows), strict=True):
            found[row.client_id] = (row, client)
    return found


def domain_clients(models: ModelSet, rows: list[Any]) -> list[Client]:
    """Return the domain clients of `rows` (at most a few thousand), in their order.

    One query per child table, read as plain tuples: prefetch_related would build a queryset
    per client and table, which costs more than the queries themselves.
    """
    children: dict[int, dict[str, list[Any]]] = {row.pk: {} for row in rows}
    for attr, child in CLIENT_CHILDREN.items():
        model = getattr(models, child.model)
        columns = [f.attname for f in model._meta.concrete_fields]
        for item in model.objects.filter(client_id__in=list(children)).order_by("pk") \
                .values_list(*columns, named=True):
            children[item.client_id].setdefault(attr, []).append(item)
    return [client_to_domain(row, {attr: children[row.pk].get(attr, [])
                                   for attr in CLIENT_CHILDREN}) for row in rows]


def _create_clients(models: ModelSet, clients: list[Client]) -> None:
    for start in range(0, len(clients), BATCH):
        batch = clients[start:start + BATCH]
        rows = models.Client.objects.bulk_create(
            [models.Client(**client_column_values(c)) for c in batch])
        if rows and rows[0].pk is None:  # a backend that does not return ids from bulk inserts
            by_id = dict(models.Client.objects.filter(
                client_id__in=[c.client_id for c in batch]).values_list("client_id", "pk"))
            for row in rows:
                row.pk = by_id[row.client_id]
        children: dict[str, list[Any]] = {}
        for row, client in zip(rows, batch, strict=True):
            for attr, child_rows in client_child_rows(models, row, client).items():
                children.setdefault(attr, []).extend(child_rows)
        for attr, child_rows in children.items():
            getattr(models, CLIENT_CHILDREN[attr].model).objects.bulk_create(child_rows)


def _update_client(models: ModelSet, row: Any, client: Client, changed: list[str]) -> None:
    for column, value in client_column_values(client).items():
        setattr(row, column, value)
    row.updated = timezone.now()
    row.save()
    collections = [attr for attr in changed if attr in CLIENT_CHILDREN]
    for attr in collections:
        getattr(models, CLIENT_CHILDREN[attr].model).objects.filter(client=row).delete()
    for attr, child_rows in client_child_rows(models, row, client, collections).items():
        getattr(models, CLIENT_CHILDREN[attr].model).objects.bulk_create(child_rows)
