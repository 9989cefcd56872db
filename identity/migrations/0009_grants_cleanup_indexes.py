"""Indexes of the persisted-grants table for cleanup at scale.

- `grant_consumed_idx`: a partial index on consumption time, so that cleanup_grants finds the
  consumed codes without reading the whole table. On PostgreSQL it is built CONCURRENTLY: a
  plain CREATE INDEX would block every write to the table (every token issued) while it reads a
  table that may hold millions of rows.
- The `varchar_pattern_ops` index Django adds on PostgreSQL for a character primary key, on
  persisted grants and device codes, is dropped: keys are SHA-256 hashes compared for equality
  only, never with LIKE, and on the grants table that index is as large as the primary key.

Not atomic, so that PostgreSQL can build and drop indexes concurrently.
"""

from django.db import migrations, models

CONSUMED_INDEX = models.Index(
    condition=models.Q(("consumed__isnull", False),
                       models.Q(("type", "refresh_token"), _negated=True)),
    fields=["consumed"], name="grant_consumed_idx")
HASH_KEYED_TABLES = ("identity_persistedgrant", "identity_deviceflowcode")


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _consumed_index(action):
    def run(apps, schema_editor):
        options = {"concurrently": True} if _postgresql(schema_editor) else {}
        getattr(schema_editor, action)(apps.get_model("identity", "PersistedGrant"),
                                       CONSUMED_INDEX, **options)
    return run


def drop_pattern_indexes(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = ANY(%s) AND indexdef LIKE %s",
                       [list(HASH_KEYED_TABLES), "%varchar_pattern_ops%"])
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(
            f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('identity', '0008_server_side_sessions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name='persistedgrant',
                                                  index=CONSUMED_INDEX)],
            database_operations=[migrations.RunPython(_consumed_index("add_index"),
                                                      _consumed_index("remove_index"))],
        ),
        # No way back is needed: no query uses these indexes.
        migrations.RunPython(drop_pattern_indexes, migrations.RunPython.noop),
    ]
