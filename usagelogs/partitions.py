"""Daily range partitions of the usage-log table on PostgreSQL (SPEC §19). SQLite keeps one table.

The table is partitioned by ``timestamp``, one partition per UTC day, named
``usagelogs_usagelog_pYYYYMMDD``, plus:

- a DEFAULT partition, so that a row whose day has no partition yet is never lost: it waits there
  until :func:`ensure_partitions` moves it into its day's partition;
- after the migration of a table that already held rows, ``usagelogs_usagelog_legacy``: the old
  table attached whole (``MINVALUE`` to the day after the migration), dropped once all of it is
  past the retention period.

Everything here runs plain SQL on the partitioned table; the ORM sees one ``UsageLog`` model.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import DatabaseError, connections, router, transaction

from .models import UsageLog

logger = logging.getLogger("keyfence.usagelogs")

TABLE = UsageLog._meta.db_table
DEFAULT = f"{TABLE}_default"
LEGACY = f"{TABLE}_legacy"
DAY = timedelta(days=1)
# Held by whoever creates, moves or drops partitions, so that two app servers never race.
LOCK_KEY = 7_346_201_901
TS = '"timestamp"'  # a type name too: always quoted
_BOUND = re.compile(r"'([^']+)'")


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition: ``start`` inclusive and ``end`` exclusive; ``None`` for MINVALUE or DEFAULT."""

    name: str
    start: datetime | None
    end: datetime | None
    is_default: bool = False


def _connection() -> Any:
    return connections[router.db_for_write(UsageLog)]


def is_partitioned(connection: Any = None) -> bool:
    """Whether the usage-log table is a partitioned PostgreSQL table."""
    connection = connection or _connection()
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def day_start(moment: datetime | date) -> datetime:
    """Midnight UTC of the day holding ``moment``."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def partition_name(day: datetime) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def _parse_bound(text: str, keyword: str) -> datetime | None:
    part = text.split(keyword, 1)[1]
    part = part.split(" TO ", 1)[0] if keyword == " FROM " else part
    found = _BOUND.search(part)
    return datetime.fromisoformat(found.group(1)).astimezone(UTC) if found else None


def partitions(connection: Any = None) -> list[Partition]:
    """The table's partitions, oldest first, the default last."""
    connection = connection or _connection()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        found = []
        for name, bound in cursor.fetchall():
            if bound == "DEFAULT":
                found.append(Partition(name, None, None, is_default=True))
            else:
                found.append(Partition(name, _parse_bound(bound, " FROM "), _parse_bound(bound, " TO ")))
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.is_default, p.start or epoch))


def _covered(existing: list[Partition], day: datetime) -> bool:
    return any(
        not p.is_default and (p.start is None or p.start <= day) and (p.end is None or day + DAY <= p.end)
        for p in existing
    )


def _lock(cursor: Any) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def create_day(day: datetime, connection: Any = None) -> str:
    """Create the partition of ``day`` (midnight UTC), moving its rows out of the default partition.

    Built as a plain table and then attached, which takes only a SHARE UPDATE EXCLUSIVE lock on the
    parent: log writes into other days never wait for it.
    """
    connection = connection or _connection()
    name, end = partition_name(day), day + DAY
    qn = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor)
        if _covered(partitions(connection), day):
            return name
        cursor.execute(f"CREATE TABLE {qn(name)} (LIKE {qn(TABLE)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(f"SELECT 1 FROM {qn(DEFAULT)} WHERE {TS} >= %s AND {TS} < %s LIMIT 1", [day, end])
        if cursor.fetchone():
            # Rows that arrived before their partition: keep new ones out while they move.
            cursor.execute(f"LOCK TABLE {qn(DEFAULT)} IN EXCLUSIVE MODE")
            cursor.execute(
                f"WITH moved AS (DELETE FROM {qn(DEFAULT)} WHERE {TS} >= %s AND {TS} < %s RETURNING *) "
                f"INSERT INTO {qn(name)} SELECT * FROM moved",
                [day, end],
            )
        cursor.execute(f"ALTER TABLE {qn(TABLE)} ATTACH PARTITION {qn(name)} FOR VALUES FROM (%s) TO (%s)", [day, end])
    return name


def _days_in_default(connection: Any, limit: int = 400) -> list[datetime]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('day', {TS} AT TIME ZONE 'UTC') FROM {connection.ops.quote_name(DEFAULT)} "
            f"LIMIT {int(limit)}"
        )
        return sorted(row[0].replace(tzinfo=UTC) for row in cursor.fetchall())


def ensure_partitions(*, days_ahead: int, now: datetime, connection: Any = None) -> list[str]:
    """Create the partitions of today and the next ``days_ahead`` days, and of every day that has
    rows waiting in the default partition; returns the names created.

    A failure is logged at ERROR and raised: rows still land in the default partition meanwhile.
    """
    connection = connection or _connection()
    if not is_partitioned(connection):
        return []
    existing = partitions(connection)
    today = day_start(now)
    wanted = [today + DAY * n for n in range(days_ahead + 1)] + _days_in_default(connection)
    created = []
    for day in sorted(set(wanted)):
        if _covered(existing, day):
            continue
        try:
            created.append(create_day(day, connection))
        except DatabaseError:
            logger.exception("Could not create the usage-log partition of %s.", f"{day:%Y-%m-%d}")
            raise
    return created


def estimated_rows(name: str, connection: Any = None) -> int:
    """The planner's row estimate of a partition: counting a day of rows would take seconds."""
    connection = connection or _connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0


def droppable(cutoff: datetime, connection: Any = None) -> list[Partition]:
    """The partitions whose every row is older than ``cutoff``."""
    return [p for p in partitions(connection) if not p.is_default and p.end is not None and p.end <= cutoff]


def _retrying(connection: Any, statements: list[str], *, lock_timeout_ms: int, attempts: int, what: str) -> None:
    """Run ``statements`` in one short transaction with a ``lock_timeout``: one that would wait for
    its lock behind a long read (a CSV export) steps back, so that the log writes queued behind it
    never wait longer than that, and tries again after a growing pause; then logs and raises."""
    for attempt in range(attempts):
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                _lock(cursor)
                cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'")
                for statement in statements:
                    cursor.execute(statement)
            return
        except DatabaseError:
            if attempt == attempts - 1:
                logger.exception("Could not %s.", what)
                raise
            time.sleep(min(0.05 * 2**attempt, 1.0))


# Partitions detached per transaction: detaching one holds the log writes off the table for a few
# milliseconds of catalog changes (its indexes, and its foreign keys' triggers), so a month of days
# is detached a few at a time.
DETACH_CHUNK = 5


def detach(doomed: list[Partition], *, lock_timeout_ms: int, attempts: int, connection: Any = None) -> None:
    """Take partitions out of the table, :data:`DETACH_CHUNK` to a short transaction: their rows are
    gone from every query at once. Only catalog rows change; the files stay until :func:`release`
    drops the detached tables, which holds no lock a log write needs.

    (``DETACH PARTITION ... CONCURRENTLY`` would not lock the table at all, but PostgreSQL refuses
    it on a table with a default partition.)
    """
    connection = connection or _connection()
    qn = connection.ops.quote_name
    for first in range(0, len(doomed), DETACH_CHUNK):
        chunk = doomed[first : first + DETACH_CHUNK]
        _retrying(
            connection,
            [f"ALTER TABLE {qn(TABLE)} DETACH PARTITION {qn(partition.name)}" for partition in chunk],
            lock_timeout_ms=lock_timeout_ms,
            attempts=attempts,
            what=f"detach the usage-log partitions {', '.join(partition.name for partition in chunk)}",
        )


def detached(connection: Any = None) -> list[str]:
    """Former partitions that :func:`detach` took out and :func:`release` has not dropped yet."""
    connection = connection or _connection()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
            "AND relnamespace = current_schema()::regnamespace AND (relname LIKE %s OR relname = %s) ORDER BY relname",
            [f"{TABLE}\\_p%", LEGACY],
        )
        return [name for (name,) in cursor.fetchall()]


def release(names: list[str], *, lock_timeout_ms: int, attempts: int, connection: Any = None) -> None:
    """Drop detached former partitions, giving their disk back.

    Each is emptied first (``TRUNCATE`` locks that table alone, and the slow part, freeing the
    files, happens there), then dropped. Dropping also removes the foreign-key triggers that
    detaching gave it on the keys, workspaces and allowlist-entry tables: that locks those tables,
    for the few milliseconds an empty table takes to drop.
    """
    connection = connection or _connection()
    qn = connection.ops.quote_name
    for name in names:
        for statement in (f"TRUNCATE {qn(name)}", f"DROP TABLE IF EXISTS {qn(name)}"):
            _retrying(
                connection, [statement], lock_timeout_ms=lock_timeout_ms, attempts=attempts, what=statement.lower()
            )


def coverage_problems(*, now: datetime, days_ahead: int, connection: Any = None) -> Iterator[str]:
    """What is wrong with the partitions, in words: a missing day ahead, rows in the default."""
    connection = connection or _connection()
    if not is_partitioned(connection):
        return
    existing = partitions(connection)
    tomorrow = day_start(now) + DAY
    missing = [tomorrow + DAY * n for n in range(max(days_ahead, 1)) if not _covered(existing, tomorrow + DAY * n)]
    if missing:
        yield f"no usage-log partition for {missing[0]:%Y-%m-%d}"
    if any(p.is_default for p in existing):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(DEFAULT)})")
            if cursor.fetchone()[0]:
                yield "usage-log rows are waiting in the default partition"
