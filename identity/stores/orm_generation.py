"""The configuration generation in the database: small rows every process reads per request.

Row `config` counts configuration changes. Row `lock` holds when (Unix seconds) a failure
counter in the database last reached its limit: while no lock can still be running, a request
need not read the counters at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import DatabaseError, IntegrityError, connection, connections, router, transaction
from django.db.models import F

from identity.models import ConfigurationGeneration, column

NAME = "config"
LOCK = "lock"


@functools.cache
def _select_sql(quote: Callable[[str], str]) -> str:
    table = ConfigurationGeneration._meta
    name = quote(column(ConfigurationGeneration, "pk"))
    value = quote(column(ConfigurationGeneration, "value"))
    return f"SELECT {name}, {value} FROM {quote(table.db_table)} WHERE {name} IN (%s, %s)"


def read_generation() -> tuple[int, int]:
    """Return the current generation (0 before the first change) and the last lock's start.

    One prepared SELECT of two primary keys, read on every request: the ORM's query building
    would cost several times the query.
    """
    connection = connections[router.db_for_read(ConfigurationGeneration)]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(connection.ops.quote_name), [NAME, LOCK])
        rows = dict(cursor.fetchall())
    return int(rows.get(NAME) or 0), int(rows.get(LOCK) or 0)


def record_lock(at: int) -> None:
    """Remember that a failure counter reached its limit at `at` (Unix seconds)."""
    if not ConfigurationGeneration.objects.filter(name=LOCK).update(value=at):
        try:
            with transaction.atomic():
                ConfigurationGeneration.objects.create(name=LOCK, value=at)
        except IntegrityError:
            ConfigurationGeneration.objects.filter(name=LOCK).update(value=at)


def bump_generation() -> None:
    """Add one to the generation, in the caller's transaction (it commits with the change)."""
    try:
        with transaction.atomic():
            if ConfigurationGeneration.objects.filter(name=NAME).update(value=F("value") + 1):
                return
    except DatabaseError:
        # A data migration that seeds clients may run before this app's tables exist; no
        # server can be serving that database yet, so there is nothing to tell.
        if ConfigurationGeneration._meta.db_table not in connection.introspection.table_names():
            return
        raise
    try:  # the row is missing (a flushed test database): create it
        with transaction.atomic():
            ConfigurationGeneration.objects.create(name=NAME, value=1)
    except IntegrityError:  # another process created it first
        ConfigurationGeneration.objects.filter(name=NAME).update(value=F("value") + 1)
