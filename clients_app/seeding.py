"""Helpers for data migrations that seed clients, scopes and resources.

    from clients_app.seeding import seed_operation

    class Migration(migrations.Migration):
        dependencies = [("clients_app", "0002_standard_identity_resources")]
        operations = [seed_operation({"Clients": [{"ClientId": "billing", ...}]})]

The forward step upserts the document with the historical models (as `import_clients` does); the
reverse step deletes the clients and resources the document names. A document is data (a dict or
list), JSON text, or the path of a JSON file; text and files are read exactly as `import_clients`
reads them (see `_document` for how a string is told apart from a path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

from django.db import migrations

from clients_app.importing import import_document
from clients_app.mapping import ModelSet
from identity.appsettings_json import is_json_text
from identity.config_document import ConfigDocument, load_document, parse_document, parse_json
from identity.domain.resources import STANDARD_IDENTITY_RESOURCES

SeedDocument: TypeAlias = dict[str, Any] | list[Any] | str | Path


def _document(source: SeedDocument) -> ConfigDocument:
    """Parse a seed document, raising ConfigDocumentError as `import_clients` does.

    A string is JSON text when its first character after whitespace and `//` or `/* */` comments
    is `{`, `[` or `"` (so a bare member, `"IdentityServer": {...}`, is text), or when it opens a
    `/*` comment that is never closed (so the error says so); any other string is a file path.
    A `Path` is always a path: pass one for a file whose name starts with one of those characters.
    """
    if isinstance(source, str) and is_json_text(source):
        return parse_json(source)
    if isinstance(source, str | Path):
        return load_document(source)
    return parse_document(source)


def seed_clients(apps: Any, document: SeedDocument) -> None:
    """Upsert a document (dict, JSON text or path) with a migration's historical models."""
    import_document(_document(document), ModelSet.from_apps(apps))


def unseed_clients(apps: Any, document: SeedDocument) -> None:
    """Delete the clients, scopes and resources that `document` names."""
    _unseed(_document(document), ModelSet.from_apps(apps))


def _unseed(doc: ConfigDocument, models: ModelSet) -> None:
    # The standard identity resources stay: other clients rely on them being there.
    standard = {r.name for r in STANDARD_IDENTITY_RESOURCES}
    res = doc.resources
    models.Client.objects.filter(client_id__in=[c.client_id for c in doc.clients]).delete()
    models.ApiResource.objects.filter(name__in=[r.name for r in res.api_resources]).delete()
    models.ApiScope.objects.filter(name__in=[s.name for s in res.api_scopes]).delete()
    models.IdentityResource.objects.filter(
        name__in=[r.name for r in res.identity_resources if r.name not in standard]).delete()


def seed_operation(document: SeedDocument) -> migrations.RunPython:
    """Return a reversible RunPython operation that seeds `document`."""
    doc = _document(document)  # parsed now, so a bad document fails when migrations load

    def forward(apps: Any, schema_editor: Any) -> None:
        import_document(doc, ModelSet.from_apps(apps))

    def backward(apps: Any, schema_editor: Any) -> None:
        _unseed(doc, ModelSet.from_apps(apps))

    return migrations.RunPython(forward, backward)
