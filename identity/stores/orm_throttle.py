"""Failure counters in the database, for servers whose Django cache is not shared by every
process (the local-memory default): limits then hold across workers and hosts.

When a counter reaches its limit, the moment is recorded beside the configuration generation,
which every request reads anyway: while no lock can still be running, no request reads the
counters.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F

from identity.models import FailureCount, column

CLEANUP_CHANCE = 0.01  # a failure also deletes expired counters now and then


@functools.cache
def _select_sql(quote: Callable[[str], str], keys: int) -> str:
    table = FailureCount._meta
    key, count, expires = (quote(column(FailureCount, f)) for f in ("key", "count", "expires"))
    marks = ", ".join(["%s"] * keys)
    return (f"SELECT {key}, {count} FROM {quote(table.db_table)} "
            f"WHERE {key} IN ({marks}) AND {expires} > %s")


def counts(keys: Iterable[str], now: datetime) -> dict[str, int]:
    """Return the live count under each key that has one.

    One prepared SELECT, read before every authentication: the ORM's query building would cost
    several times the query.
    """
    keys = list(keys)
    if not keys:
        return {}
    connection = connections[router.db_for_read(FailureCount)]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(connection.ops.quote_name, len(keys)),
                       [*keys, connection.ops.adapt_datetimefield_value(now)])
        return {str(key): int(count) for key, count in cursor.fetchall()}


def increment(keys: Iterable[str], window: int, now: datetime) -> dict[str, int]:
    """Count one failure under each key (a key's window starts at its first failure); return
    the counts after it."""
    keys = list(keys)
    expires = now + timedelta(seconds=window)
    with transaction.atomic():
        for key in keys:
            if FailureCount.objects.filter(key=key, expires__gt=now).update(
                    count=F("count") + 1):
                continue
            if FailureCount.objects.filter(key=key).update(count=1, expires=expires):
                continue  # an expired counter starts again
            try:
                with transaction.atomic():
                    FailureCount.objects.create(key=key, count=1, expires=expires)
            except IntegrityError:  # another process created it first
                FailureCount.objects.filter(key=key).update(count=F("count") + 1)
        if random.random() < CLEANUP_CHANCE:
            delete_expired(now)
        return counts(keys, now)


def claim(key: str, window: int, now: datetime) -> bool:
    """Record `key` for `window` seconds; True only for the first caller while it lives.

    One INSERT in the common case (single-use values are new): the primary key decides races
    between processes. An expired record is taken over by one conditional UPDATE.
    """
    expires = now + timedelta(seconds=window)
    try:
        with transaction.atomic():
            FailureCount.objects.create(key=key, count=1, expires=expires)
        return True
    except IntegrityError:
        return bool(FailureCount.objects.filter(key=key, expires__lte=now).update(
            count=1, expires=expires))


def delete_expired(now: datetime) -> int:
    """Delete counters whose window has passed."""
    deleted, _ = FailureCount.objects.filter(expires__lte=now).delete()
    return deleted
