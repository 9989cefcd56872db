"""Fixtures of the race tests."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent connections and row-level locking")


@pytest.fixture
def slow_import(monkeypatch) -> None:
    """Make an import spend 20 ms between reading the clients and writing them, as a large
    document does: every racing writer then changes the clients while an import holds a stale
    copy, unless the writers wait for each other."""
    import time

    from clients_app import importing

    original = importing._existing_clients

    def existing_clients(*args, **kwargs):
        found = original(*args, **kwargs)
        time.sleep(0.02)
        return found

    monkeypatch.setattr(importing, "_existing_clients", existing_clients)
