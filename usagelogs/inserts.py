"""One prepared INSERT per batch of usage-log rows, and one upsert of its hourly rollup, in one
transaction: no queryset, no model instances.

Rows are dicts from field attnames (``api_key_id``, ...) to values, as the middleware builds them.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections, models, router, transaction

from .models import UsageLog
from .rollup import Upsert


class _Insert:
    """A prepared ``INSERT`` of a batch for one database; no model instances on the way."""

    def __init__(self, connection: Any) -> None:
        qn = connection.ops.quote_name
        self.fields = [f for f in UsageLog._meta.concrete_fields if not f.primary_key]
        table, columns = qn(UsageLog._meta.db_table), ", ".join(qn(f.column) for f in self.fields)
        # psycopg binds a long multi-row VALUES list slowly, in Python: PostgreSQL gets the whole
        # batch as one JSON parameter instead. SQLite runs a prepared statement per row, in process.
        self.as_json = connection.vendor == "postgresql"
        if self.as_json:
            self.sql = (
                f"INSERT INTO {table} ({columns}) "
                f"SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json)"
            )
        else:
            self.sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"
        # Only what the driver cannot take as it comes is converted: dates, UUIDs, IP addresses.
        self.converted = {
            f.attname
            for f in self.fields
            if isinstance(
                getattr(f, "target_field", f), (models.DateTimeField, models.UUIDField, models.GenericIPAddressField)
            )
        }

    def as_statement(self, rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
        """PostgreSQL: the batch's ``INSERT`` and its one parameter, to run alone or inside another."""
        fields = self.fields
        batch = [{f.column: row[f.attname] if f.attname in row else f.get_default() for f in fields} for row in rows]
        return self.sql, [json.dumps(batch, default=str)]

    def execute(self, cursor: Any, rows: list[dict[str, Any]]) -> None:
        fields = self.fields
        if self.as_json:
            cursor.execute(*self.as_statement(rows))
            return
        connection, converted = cursor.db, self.converted
        params = []
        for row in rows:
            values = []
            for f in fields:
                value = row[f.attname] if f.attname in row else f.get_default()
                if value is not None and f.attname in converted:
                    value = f.get_db_prep_save(value, connection)
                values.append(value)
            params.append(values)
        cursor.executemany(self.sql, params)


_inserts: dict[tuple[str, str], tuple[_Insert, Upsert]] = {}


def insert_rows(rows: list[dict[str, Any]], *, rollup: bool = True) -> None:
    """Write ``rows`` and add them to the hourly rollup, in one transaction (one statement on PostgreSQL).

    Each row maps field attnames (``api_key_id``, ...) to values; missing fields take their defaults.
    Both statements commit together or not at all, so a retried batch is never counted twice.
    ``rollup=False`` leaves the rollup out, for the benchmark that measures what it costs.
    """
    alias = router.db_for_write(UsageLog)
    connection = connections[alias]
    prepared = _inserts.get((alias, connection.vendor))
    if prepared is None:
        prepared = _inserts[(alias, connection.vendor)] = (_Insert(connection), Upsert(connection))
    insert, upsert = prepared
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if rollup and insert.as_json:
            # PostgreSQL: both in one statement, one round trip (the insert as the upsert's WITH).
            upsert.execute(cursor, rows, before=insert.as_statement(rows))
            return
        insert.execute(cursor, rows)
        if rollup:
            upsert.execute(cursor, rows)


def without_vanished_references(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its ``SET_NULL`` references to deleted objects cleared, as the deletion
    would have done had the row been written first.

    A request may delete the very allowlist entry it matched; its row is written afterwards.
    Only used when a write has failed, so the lookups cost nothing in the normal case.
    """
    cleared = dict(row)
    for field in UsageLog._meta.concrete_fields:
        value = row.get(field.attname)
        remote, related = field.remote_field, field.related_model
        if (
            value is not None
            and remote is not None
            and remote.on_delete is models.SET_NULL
            and related is not None
            and not related._default_manager.filter(pk=value).exists()
        ):
            cleared[field.attname] = None
    return cleared
