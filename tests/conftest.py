"""Shared fixtures: a clean cache and freshly built stores for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches

from identity import stores, usage


@pytest.fixture(autouse=True)
def _fresh_stores_and_cache() -> Iterator[None]:
    caches["default"].clear()
    stores.reset_stores()
    usage._last_sent.clear()
    yield
    caches["default"].clear()
    stores.reset_stores()


@pytest.fixture
def identity_config(settings: Any) -> Callable[..., None]:
    """Override keys of settings.IDENTITY for one test: `identity_config(CLIENTS_FILE=...)`."""

    def override(**values: Any) -> None:
        settings.IDENTITY = {**settings.IDENTITY, **values}

    return override


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "clients.json") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def seeded(db):
    """Seed the reference scopes and clients (service.client, interactive) in the database."""
    from clients_app.importing import import_document
    from clients_app.mapping import real_models
    from identity.config_document import ConfigDocument
    from identity.domain.resources import STANDARD_IDENTITY_RESOURCES, Resources
    from tests.factories import make_client, make_interactive_client, make_resources

    def seed(*clients):
        # Transactional tests flush the data migration's rows: name the standard ones again.
        api = make_resources()
        resources = Resources(identity_resources=STANDARD_IDENTITY_RESOURCES,
                              api_scopes=api.api_scopes, api_resources=api.api_resources)
        import_document(ConfigDocument(clients=clients or (make_client(),
                                                           make_interactive_client()),
                                       resources=resources), real_models())

    return seed


@pytest.fixture
def token_post(client):
    """POST a form to the token endpoint: token_post({"grant_type": ...}, auth=("id", "s"))."""
    import base64
    from urllib.parse import quote_plus, urlencode

    def post(data, auth=None, **headers):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if auth is not None:
            raw = f"{quote_plus(auth[0])}:{quote_plus(auth[1])}".encode()
            extra["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(raw).decode()
        body = data if isinstance(data, str | bytes) else urlencode(data)
        return client.post("/connect/token", body,
                           content_type="application/x-www-form-urlencoded", **extra)

    return post


@pytest.fixture
def alice(db):
    """The demo user, with names and an email."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        "alice", "alice@example.com", "pw-alice-123", first_name="Alice", last_name="Smith")
