"""Look at the test database as an attacker with a dump of it would."""

from __future__ import annotations


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
