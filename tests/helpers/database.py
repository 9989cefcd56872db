"""Look at the test database: as an attacker with a dump of it would, and at what a request
writes to it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_WRITE = re.compile(r'(INSERT(?: OR IGNORE)? INTO|UPDATE|DELETE FROM) "(\w+)"')
_NOT_WRITES = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def database_text() -> str:
    """Every value of every row of every table, as text: what a database dump would show."""
    from django.db import connection

    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.extend(bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview)
                              else str(v) for v in row)
    return "\n".join(chunks)


def writes_of(call: Callable[[], Any]) -> list[tuple[str, str]]:
    """Run `call`; return (statement, table) of each write it sent, in order: INSERT, UPDATE or
    DELETE. A statement of any other shape fails the test rather than pass unseen."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.startswith(_NOT_WRITES):
            continue
        match = _WRITE.match(sql)
        assert match, f"a statement of unknown shape: {sql[:200]}"
        found.append((match.group(1).split()[0], match.group(2)))
    return found
