"""The grants cleanup at scale: each of its batch queries is answered from an index, so that a
run on a large table reads what it deletes rather than the whole table; and no index is kept
that no query uses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet

from identity import clock
from identity.management.commands.cleanup_grants import stale_grants
from identity.models import PersistedGrant

pytestmark = pytest.mark.django_db


def _plan(stale: QuerySet[PersistedGrant]) -> str:
    query = stale[:5000]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The table is tiny here: make the planner show whether an index can answer at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
    return query.explain()


def test_expired_grants_are_found_through_the_expiry_index() -> None:
    expired, _ = stale_grants(clock.now(), timedelta(seconds=300))
    assert "grant_expires_idx" in _plan(expired)


def test_consumed_grants_are_found_through_the_partial_consumed_index() -> None:
    _, consumed = stale_grants(clock.now(), timedelta(seconds=300))
    assert "grant_consumed_idx" in _plan(consumed)


def test_the_consumed_index_holds_only_the_rows_cleanup_deletes_by_consumption() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("reads PostgreSQL's catalogue")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'grant_consumed_idx'")
        (definition,) = cursor.fetchone()
    assert "WHERE ((consumed IS NOT NULL) AND (NOT ((type)::text = 'refresh_token'" in definition


@pytest.mark.parametrize("table", ["identity_persistedgrant", "identity_deviceflowcode"])
def test_hash_keys_have_no_pattern_index(table: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pattern index is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                       [table])
        indexes = dict(cursor.fetchall())
    assert not [name for name, definition in indexes.items() if "pattern_ops" in definition]
    assert f"{table}_pkey" in indexes  # equality lookups by key still have their index
