"""Database implementations of identity's store protocols.

A lookup makes a fixed number of queries whatever the number of rows: one for the parent and
one per child table (prefetch), never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from clients_app import models
from clients_app.mapping import CLIENT_CHILDREN, client_to_domain, resource_to_domain
from identity.domain.client import Client
from identity.domain.resources import ApiResource, ApiScope, IdentityResource, Resources


def _clients() -> Any:
    return models.Client.objects.prefetch_related(*CLIENT_CHILDREN)


class OrmClientStore:
    """Clients from the `clients_app` tables."""

    def find_client_by_id(self, client_id: str) -> Client | None:
        """Return the client with this id, or None."""
        row = _clients().filter(client_id=client_id).first()
        return client_to_domain(row) if row is not None else None

    def all_clients(self) -> Iterator[Client]:
        """Yield every client, reading in chunks."""
        for row in _clients().order_by("client_id").iterator(chunk_size=500):
            yield client_to_domain(row)

    def allows_plain_pkce(self) -> bool:
        """Tell whether an enabled client allows PKCE `plain` (one query, for discovery)."""
        return bool(models.Client.objects.filter(enabled=True,
                                                 allow_plain_text_pkce=True).exists())


class OrmResourceStore:
    """Identity resources, API scopes and API resources from the `clients_app` tables."""

    def find_resources_by_scope_names(self, names: Iterable[str]) -> Resources:
        """Return the named identity resources and API scopes, and the APIs that own them."""
        wanted = list(set(names))
        return Resources(
            identity_resources=self._identity(models.IdentityResource.objects.filter(
                name__in=wanted)),
            api_scopes=self._scopes(models.ApiScope.objects.filter(name__in=wanted)),
            api_resources=self._apis(models.ApiResource.objects.filter(
                scopes__scope__in=wanted).distinct()),
        )

    def find_api_resources_by_name(self, names: Iterable[str]) -> Resources:
        """Return the named API resources."""
        return Resources(api_resources=self._apis(
            models.ApiResource.objects.filter(name__in=list(set(names)))))

    def all_resources(self) -> Resources:
        """Return every resource."""
        return Resources(
            identity_resources=self._identity(models.IdentityResource.objects.all()),
            api_scopes=self._scopes(models.ApiScope.objects.all()),
            api_resources=self._apis(models.ApiResource.objects.all()),
        )

    @staticmethod
    def _identity(qs: Any) -> tuple[IdentityResource, ...]:
        return tuple(resource_to_domain(IdentityResource, r)
                     for r in qs.prefetch_related("user_claims").order_by("name"))

    @staticmethod
    def _scopes(qs: Any) -> tuple[ApiScope, ...]:
        return tuple(resource_to_domain(ApiScope, r)
                     for r in qs.prefetch_related("user_claims").order_by("name"))

    @staticmethod
    def _apis(qs: Any) -> tuple[ApiResource, ...]:
        return tuple(resource_to_domain(ApiResource, r) for r in
                     qs.prefetch_related("scopes", "user_claims", "api_secrets").order_by("name"))


class OrmCorsPolicy:
    """Origins from the clients' CORS origin rows."""

    def is_origin_allowed(self, origin: str) -> bool:
        """Return True when an enabled client lists `origin`."""
        return models.ClientCorsOrigin.objects.filter(origin=origin, client__enabled=True).exists()
