"""The hourly rollup: requests per workspace, key, hour, decision and status class (SPEC §19).

The log writer adds each batch to it with one upsert, in the same transaction as the batch's
``INSERT`` (see inserts.py): a batch that is retried after a failure was rolled back whole, so its
rows are never counted twice, and a graceful stop writes rows and counts together. Rows with no
workspace (unknown keys, seen by staff only) are not counted: no workspace reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from django.db import models
from django.utils import timezone

from .models import NO_KEY, Decision, SealedDay, UsageRollup, status_class

Group = tuple[Any, datetime, UUID, str, str]


def hour_of(moment: datetime) -> datetime:
    """The UTC hour that holds ``moment``."""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    """The UTC day that holds ``moment``, as the datetime of its start."""
    return hour_of(moment).replace(hour=0)


def groups_of(rows: Iterable[dict[str, Any]]) -> dict[Group, list[float]]:
    """``{(workspace, hour, key, decision, status class): [requests, total ms]}`` of log rows."""
    groups: dict[Group, list[float]] = {}
    for row in rows:
        workspace_id = row.get("workspace_id")
        if workspace_id is None:
            continue
        key = (
            workspace_id,
            hour_of(row.get("timestamp") or timezone.now()),
            row.get("api_key_id") or NO_KEY,
            row.get("decision") or Decision.NONE.value,
            status_class(int(row["status_code"])),
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = [0, 0.0]
        group[0] += 1
        group[1] += float(row.get("response_time_ms") or 0.0)
    return groups


class Upsert:
    """One ``INSERT ... ON CONFLICT DO UPDATE`` of a batch's groups, prepared per database."""

    FIELDS = ("workspace", "hour", "key_id", "decision", "status_class", "requests", "total_response_ms")

    def __init__(self, connection: Any) -> None:
        qn = connection.ops.quote_name
        meta = UsageRollup._meta
        self.table = qn(meta.db_table)
        self.fields = [cast(models.Field, meta.get_field(name)) for name in self.FIELDS]
        self.columns = [f.column for f in self.fields]
        columns = ", ".join(qn(column) for column in self.columns)
        self.head = f"INSERT INTO {self.table} ({columns}) VALUES "
        self.row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        # As for the log insert (inserts.py): on PostgreSQL the groups go as one JSON parameter,
        # which the driver binds at once, rather than seven parameters a group.
        self.as_json = connection.vendor == "postgresql"
        self.from_json = (
            f"INSERT INTO {self.table} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{self.table}, %s::json)"
        )
        conflict = ", ".join(qn(c) for c in ("workspace_id", "hour", "key_id", "decision", "status_class"))
        self.tail = (
            f" ON CONFLICT ({conflict}) DO UPDATE SET "
            f"requests = {self.table}.requests + excluded.requests, "
            f"total_response_ms = {self.table}.total_response_ms + excluded.total_response_ms"
        )
        # A batch with rows of a day that has ended marks that day dirty (see daily.py).
        sealed = SealedDay._meta
        self.day_field = cast(models.Field, sealed.get_field("day"))
        day, dirty = qn(self.day_field.column), qn(cast(models.Field, sealed.get_field("dirty")).column)
        self.late_head = f"INSERT INTO {qn(sealed.db_table)} ({day}, {dirty}) VALUES "
        self.late_tail = f" ON CONFLICT ({day}) DO UPDATE SET {dirty} = excluded.{dirty}"

    def execute(self, cursor: Any, rows: Iterable[dict[str, Any]], *, before: tuple[str, list[Any]] = ("", [])) -> None:
        """Add ``rows`` to the rollup. ``before``: a statement and its parameters (the batch's log
        insert) to run first; on PostgreSQL it goes in the same round trip, as the upsert's ``WITH``."""
        groups = groups_of(rows)
        head, head_params = before
        if head and not (groups and self.as_json):
            cursor.execute(head, head_params)
            head, head_params = "", []
        if not groups:
            return
        connection = cursor.db
        # Sorted, so that two writers updating the same groups lock them in the same order.
        ordered = sorted(groups, key=lambda k: (str(k[0]), k[1], str(k[2]), k[3], k[4]))
        if self.as_json:
            batch = [
                dict(zip(self.columns, (*key, int(groups[key][0]), groups[key][1]), strict=True)) for key in ordered
            ]
            with_head = f"WITH logged AS ({head}) " if head else ""
            cursor.execute(with_head + self.from_json + self.tail, [*head_params, json.dumps(batch, default=str)])
        else:
            params: list[Any] = []
            for key in ordered:
                requests, total = groups[key]
                values = (*key, int(requests), total)
                params.extend(f.get_db_prep_save(v, connection) for f, v in zip(self.fields, values, strict=True))
            cursor.execute(self.head + ", ".join([self.row] * len(groups)) + self.tail, params)
        today = day_of(timezone.now())
        late = sorted({day_of(key[1]) for key in ordered if key[1] < today})
        if late:
            params = []
            for day in late:
                params.extend((self.day_field.get_db_prep_save(day, connection), True))
            cursor.execute(self.late_head + ", ".join(["(%s, %s)"] * len(late)) + self.late_tail, params)
