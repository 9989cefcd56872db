"""Export configuration rows as an IdentityServer JSON document."""

from __future__ import annotations

from collections.abc import Sequence

from clients_app.stores import OrmClientStore, OrmResourceStore
from identity.config_document import dump_document


def export_document(client_ids: Sequence[str] | None = None) -> tuple[str, list[str]]:
    """Return the document for these clients (all when None), and the ids not found."""
    store = OrmClientStore()
    if client_ids is None:
        clients = tuple(store.all_clients())
        missing: list[str] = []
    else:
        found = {cid: store.find_client_by_id(cid) for cid in dict.fromkeys(client_ids)}
        clients = tuple(c for c in found.values() if c is not None)
        missing = [cid for cid, c in found.items() if c is None]
    return dump_document(clients, OrmResourceStore().all_resources()), missing
