"""On PostgreSQL, the usage-log table becomes range-partitioned by timestamp, one partition a day.

The existing table is attached as its first partition (``usagelogs_usagelog_legacy``, from
MINVALUE to the day after the migration) rather than copied: its rows stay where they are, and the
partition is dropped whole once all of it is past the retention period; until then pruning trims it
in batches, as before. An empty table is simply replaced. The primary key becomes (id, timestamp),
as PostgreSQL requires of a partitioned table; Django still sees ``id`` as the primary key, and the
identity sequence continues where the old one stopped. A DEFAULT partition catches rows whose day
has no partition yet; partitions for today and the next week are created here, and
``create_usage_log_partitions`` keeps creating them ahead.

SQLite keeps one table: nothing changes there. Reversing copies every row back into a plain table.
"""

from datetime import UTC, datetime, timedelta

from django.db import migrations

TABLE = "usagelogs_usagelog"
LEGACY = f"{TABLE}_legacy"
SPARE = f"{TABLE}_partitioned"
DAYS_AHEAD = 7


def _midnight(moment):
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _rename_indexes(cursor, table, suffix):
    cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [table])
    for (name,) in cursor.fetchall():
        cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name[: 63 - len(suffix)]}{suffix}"')


def _constraints_and_indexes(schema_editor, model, primary_key):
    """The primary key, the foreign keys and every index of the model's state, by Django's names."""
    schema_editor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY ({primary_key})')
    for field in model._meta.local_fields:
        if field.remote_field and field.db_constraint:
            schema_editor.execute(schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s"))
    for statement in schema_editor._model_indexes_sql(model):
        schema_editor.execute(statement)


def _continue_sequence(cursor, max_id):
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{TABLE}\"', 'id'), %s, false)", [max_id + 1])


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("usagelogs", "UsageLog")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute(f'SELECT COALESCE(max(id), 0), max("timestamp"), now() FROM "{TABLE}"')
        max_id, newest, now = cursor.fetchone()
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{LEGACY}"')
        _rename_indexes(cursor, LEGACY, "_legacy")
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{LEGACY}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY) '
            'PARTITION BY RANGE ("timestamp")'
        )
        _constraints_and_indexes(schema_editor, model, 'id, "timestamp"')
        first_day = _midnight(now)
        if newest is None:
            cursor.execute(f'DROP TABLE "{LEGACY}"')
        else:
            # Its own primary key (id) would clash with the parent's (id, timestamp); the parent's
            # identity numbers the rows from now on. Its other indexes match the parent's and are
            # attached as they are, without a rebuild.
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'", [LEGACY]
            )
            cursor.execute(f'ALTER TABLE "{LEGACY}" DROP CONSTRAINT "{cursor.fetchone()[0]}"')
            cursor.execute(f'ALTER TABLE "{LEGACY}" ALTER COLUMN id DROP IDENTITY IF EXISTS')
            first_day = max(first_day, _midnight(newest)) + timedelta(days=1)
            cursor.execute(
                f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{LEGACY}" FOR VALUES FROM (MINVALUE) TO (%s)', [first_day]
            )
        _continue_sequence(cursor, max_id)
        cursor.execute(f'CREATE TABLE "{TABLE}_default" PARTITION OF "{TABLE}" DEFAULT')
        day = _midnight(now)
        while day <= _midnight(now) + timedelta(days=DAYS_AHEAD):
            if day >= first_day or newest is None:
                cursor.execute(
                    f'CREATE TABLE "{TABLE}_p{day:%Y%m%d}" PARTITION OF "{TABLE}" FOR VALUES FROM (%s) TO (%s)',
                    [day, day + timedelta(days=1)],
                )
            day += timedelta(days=1)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("usagelogs", "UsageLog")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] != "p":
            return
        cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute(f'SELECT COALESCE(max(id), 0) FROM "{TABLE}"')
        (max_id,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{SPARE}"')
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{SPARE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)'
        )
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{SPARE}" ORDER BY id')
        cursor.execute(f'DROP TABLE "{SPARE}"')  # its partitions and their index names go with it
        _constraints_and_indexes(schema_editor, model, "id")
        _continue_sequence(cursor, max_id)


class Migration(migrations.Migration):
    dependencies = [
        ("usagelogs", "0005_logs_belong_to_workspaces"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
