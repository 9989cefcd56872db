"""A client store decorator that hides clients breaking the configuration rules.

Spec: IdentityServer `ValidatingClientStore<T>`; the rules are `validation.client_config`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from identity.domain.client import Client
from identity.stores.interfaces import ClientStore
from identity.validation.client_config import validate_client

logger = logging.getLogger(__name__)


class ValidatingClientStore:
    """Return a client only when it passes `validate_client`; log why when it does not."""

    def __init__(self, inner: ClientStore) -> None:
        self.inner = inner

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the inner store's client if its configuration is valid, else None."""
        client = self.inner.find_client_by_id(client_id)
        if client is None:
            return None
        problems = validate_client(client)
        if problems:
            logger.error("client %r is misconfigured and was not loaded: %s", client_id,
                         "; ".join(p.describe(client_id) for p in problems))
            return None
        return client

    def all_clients(self) -> Iterator[Client]:
        """Yield the inner store's clients that pass the rules."""
        return (c for c in self.inner.all_clients() if not validate_client(c))
