"""The PostgreSQL pass of the test command runs through PgBouncer in transaction pooling mode.

These tests run when PGBOUNCER_ADMIN_URL names the pooler's admin console (the test command sets
it): they prove that the pass really went through the pooler, in the mode production uses, and
that the races and locks of the rest of the suite therefore held there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from clients_app import models

ADMIN_URL = os.environ.get("PGBOUNCER_ADMIN_URL")

pytestmark = [
    pytest.mark.skipif(not ADMIN_URL, reason="PGBOUNCER_ADMIN_URL is not set"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def console() -> Iterator[psycopg.Cursor[Any]]:
    assert ADMIN_URL
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        yield conn.cursor()


def _stats(console: psycopg.Cursor[Any], database: str) -> dict[str, Any]:
    console.execute("SHOW STATS")
    names = [d.name for d in console.description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in console.fetchall()]
    return next(r for r in rows if r["database"] == database)


def test_the_pooler_runs_in_transaction_mode(console) -> None:
    console.execute("SHOW CONFIG")
    config = {row[0]: row[1] for row in console.fetchall()}
    assert config["pool_mode"] == "transaction"


def test_the_test_database_is_reached_through_the_pooler(console) -> None:
    database = connection.settings_dict["NAME"]
    before = _stats(console, database)["total_xact_count"]
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute("SELECT 1")
    assert _stats(console, database)["total_xact_count"] >= before + 5
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_an_import_under_the_advisory_lock_works_through_the_pooler(tmp_path) -> None:
    # import_clients takes pg_advisory_xact_lock: a transaction-scoped lock, which a pooler in
    # transaction mode keeps on the one server connection that runs the transaction.
    document = tmp_path / "clients.json"
    secret = "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="  # SHA-256 of "secret"
    document.write_text(json.dumps({"IdentityServer": {"Clients": [{
        "ClientId": "pooled", "AllowedGrantTypes": ["client_credentials"],
        "ClientSecrets": [{"Value": secret}], "AllowedScopes": []}]}}))
    call_command("import_clients", str(document))
    assert models.Client.objects.filter(client_id="pooled").exists()
