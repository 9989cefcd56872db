"""Clients and resources from an IdentityServer JSON document, served from memory.

Spec: IdentityServer `AddInMemoryClients(configuration.GetSection("IdentityServer:Clients"))`.
"""

from __future__ import annotations

import functools
import logging

from identity.config_document import load_document
from identity.stores.memory import InMemoryClientStore, InMemoryResourceStore

logger = logging.getLogger(__name__)


@functools.cache
def config_file_stores(path: str) -> tuple[InMemoryClientStore, InMemoryResourceStore]:
    """Read `path` once and return its client store and resource store."""
    document = load_document(path)
    for note in document.notes:
        logger.info("%s: %s", path, note)
    return InMemoryClientStore(document.clients), InMemoryResourceStore(document.resources)
