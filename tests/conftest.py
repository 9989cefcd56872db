"""Shared fixtures: a clean cache and freshly built stores for every test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches

from identity import freshness
from identity import last_used as usage
from identity.stores import registry as stores
from tests.helpers.basic_auth import Credentials
from tests.helpers.calls import TOKEN, post_form
from tests.helpers.live_requests import WAIT, wait_for_live_requests
from tests.helpers.seeding import reference_clients, seed


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test databases; behind PgBouncer, its server connections to them are
    dropped before the databases are (PostgreSQL refuses to drop a database in use)."""
    yield
    admin_url = os.environ.get("PGBOUNCER_ADMIN_URL")
    if not admin_url:
        return
    import psycopg
    from django.db import connections

    with django_db_blocker.unblock():
        names = {c.settings_dict["NAME"] for c in connections.all()}
        connections.close_all()
    with psycopg.connect(admin_url, autocommit=True) as console:
        for name in names:
            console.execute(f'KILL "{name}"')  # the pooler's own commands, not SQL
            console.execute(f'RESUME "{name}"')


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the `own_database` tests on SQLite only. They start the project in subprocesses on a
    SQLite database of their own and never use the suite's: on another database they would run
    exactly the same, so the test command's PostgreSQL pass leaves them to the SQLite pass."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    skip = pytest.mark.skip(reason="the project runs on a SQLite database of its own: "
                                   "the SQLite pass of the suite runs this")
    for item in items:
        if item.get_closest_marker("own_database"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A live-server test ends when its server has finished every request, not when its client
    has the last answer (tests/helpers/live_requests.py says why)."""
    try:
        return (yield)
    finally:
        if "live_server" in getattr(item, "fixturenames", ()):
            left = wait_for_live_requests()
            if left:
                pytest.fail(f"the live server was still inside {len(left)} request(s) "
                            f"{WAIT:g} s after the test ended")


@pytest.fixture(autouse=True)
def _fresh_stores_and_cache() -> Iterator[None]:
    caches["default"].clear()
    stores.reset_stores()
    usage._last_sent.clear()
    yield
    caches["default"].clear()
    stores.reset_stores()
    # A test that acted as if within a request (freshness._started) must not leave the next
    # test inside it: its reads would be answered once per "request" instead of each time.
    freshness._finished()


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
def seeded(db) -> Callable[..., None]:
    """Seed the reference scopes and clients (service.client, interactive) in the database:
    `seeded()`, or `seeded(client, ...)` for other clients."""

    def seed_clients(*clients: Any) -> None:
        seed(clients or reference_clients())

    return seed_clients


@pytest.fixture
def token_post(client) -> Callable[..., Any]:
    """POST a form to the token endpoint: token_post({"grant_type": ...}, auth=("id", "s")),
    other headers as keywords (x_forwarded_for="10.0.0.1")."""

    def post(data: Mapping[str, str] | str | bytes, auth: Credentials | None = None,
             **headers: str) -> Any:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        return post_form(client, TOKEN, data, auth=auth, **extra)

    return post


@pytest.fixture
def alice(db):
    """The demo user, with names and an email."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        "alice", "alice@example.com", "pw-alice-123", first_name="Alice", last_name="Smith")


@pytest.fixture
def bob(db):
    """A second user, without names."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("bob", "bob@example.com", "pw-bob-123")
