"""The configuration generation in the database: one small row every process can read."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import DatabaseError, IntegrityError, connection, connections, router, transaction
from django.db.models import F

from identity.models import ConfigurationGeneration

NAME = "config"


@functools.cache
def _select_sql(quote: Callable[[str], str]) -> str:
    table = ConfigurationGeneration._meta
    return (f"SELECT {quote(table.get_field('value').column)} FROM {quote(table.db_table)} "
            f"WHERE {quote(table.pk.column)} = %s")


def read_generation() -> int:
    """Return the current generation (0 before the first change).

    One prepared SELECT by primary key, read on every request: the ORM's query building would
    cost several times the query.
    """
    connection = connections[router.db_for_read(ConfigurationGeneration)]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(connection.ops.quote_name), [NAME])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


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
