"""Seed clients and resources in the database through the import path of `manage.py
import_clients`, as the tests' fixtures and helpers do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def seed(clients: Sequence[Any], api_resources: Sequence[Any] | None = None) -> None:
    """Import `clients` with the reference API scopes (api1, api2.read_only), `api_resources`
    (the reference ones by default) and the standard identity resources. Named every time:
    transactional tests flush the rows the data migration wrote."""
    from clients_app.importing import import_document
    from clients_app.mapping import real_models
    from identity.config_document import ConfigDocument
    from identity.domain.resources import STANDARD_IDENTITY_RESOURCES, Resources
    from tests.factories import make_resources

    reference = make_resources()
    resources = Resources(identity_resources=STANDARD_IDENTITY_RESOURCES,
                          api_scopes=reference.api_scopes,
                          api_resources=tuple(api_resources or reference.api_resources))
    import_document(ConfigDocument(clients=tuple(clients), resources=resources), real_models())


def reference_clients() -> tuple[Any, ...]:
    """The two clients most tests use: service.client (client credentials) and interactive."""
    from tests.factories import make_client, make_interactive_client

    return make_client(), make_interactive_client()


def seed_with_api_secrets(*clients: Any) -> None:
    """Seed clients (the reference two by default) and APIs that may call introspection:
    api1 with the ApiSecret "api-secret", api2 with "api2-secret"."""
    from identity.domain.resources import ApiResource
    from tests.factories import make_secret

    seed(clients or reference_clients(), api_resources=(
        ApiResource(name="api1", scopes=("api1",), api_secrets=(make_secret("api-secret"),)),
        ApiResource(name="api2", scopes=("api2.read_only",),
                    api_secrets=(make_secret("api2-secret"),))))
