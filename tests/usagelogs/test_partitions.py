"""Daily partitions on PostgreSQL: the migration of a table that holds rows, rows whose day has no
partition yet, creating partitions ahead, pruning by dropping them, and failures that report
themselves. SQLite keeps one table, so these tests run on PostgreSQL only."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.usagelogs.helpers import personal, written
from usagelogs import partitions
from usagelogs.models import UsageLog, UsageRollup

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps one table")


def where(row_id: int) -> str:
    """The partition that holds a row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM usagelogs_usagelog WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


def migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_attaches_a_table_with_rows_and_reverses() -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    before = [node for node in latest if node[0] != "usagelogs"] + [("usagelogs", "0005_logs_belong_to_workspaces")]
    try:
        old = migrate(before)
        assert not partitions.is_partitioned()
        logs = old.get_model("usagelogs", "UsageLog").objects
        now = timezone.now()
        ages = [200, 95, 30, 1, 0]
        ids = [
            logs.create(timestamp=now - timedelta(days=d), method="GET", path=f"/{d}", status_code=200).id for d in ages
        ]

        migrate(latest)
        assert partitions.is_partitioned()
        assert dict(UsageLog.objects.values_list("id", "path")) == {i: f"/{d}" for i, d in zip(ids, ages, strict=True)}
        assert {where(i) for i in ids} == {partitions.LEGACY}
        names = {p.name for p in partitions.partitions()}
        assert partitions.DEFAULT in names
        assert partitions.partition_name(partitions.day_start(now) + timedelta(days=7)) in names
        # The identity continues after the old rows; a new row lands in tomorrow's own partition.
        new = written(method="GET", path="/new", status_code=200, timestamp=now + timedelta(days=1))
        assert new.id > max(ids)
        assert where(new.id) == partitions.partition_name(partitions.day_start(now) + timedelta(days=1))
        # Newest first, by time, across the partitions.
        assert list(UsageLog.objects.values_list("path", flat=True)) == ["/new", "/0", "/1", "/30", "/95", "/200"]

        migrate(before)
        assert not partitions.is_partitioned()
        assert logs.count() == 6
        assert logs.create(method="GET", path="/after", status_code=200).id > new.id
    finally:
        # Empty, so that the table is partitioned afresh for the tests that follow, with no legacy part.
        migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE usagelogs_usagelog")
        migrate(latest)
    assert partitions.is_partitioned()


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_day_has_no_partition_waits_in_the_default_and_moves_to_its_own() -> None:
    later = timezone.now() + timedelta(days=40)
    row = written(method="GET", path="/future", status_code=200, timestamp=later)
    assert where(row.id) == partitions.DEFAULT
    problems = [m.id for m in checks.run_checks(tags=[checks.Tags.database], databases=["default"])]
    assert "usagelogs.W010" in problems

    out = StringIO()
    call_command("create_usage_log_partitions", stdout=out)
    assert f"created {partitions.partition_name(partitions.day_start(later))}" in out.getvalue()
    assert where(row.id) == partitions.partition_name(partitions.day_start(later))
    assert UsageLog.objects.get(id=row.id).path == "/future"
    assert not [
        m for m in checks.run_checks(tags=[checks.Tags.database], databases=["default"]) if m.id.startswith("usagelogs")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_missing_partition_ahead_is_a_check_error_and_the_command_creates_it() -> None:
    tomorrow = partitions.day_start(timezone.now()) + partitions.DAY
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partitions.partition_name(tomorrow)}"')
    errors = [
        m for m in checks.run_checks(tags=[checks.Tags.database], databases=["default"]) if m.id == "usagelogs.E010"
    ]
    assert errors and f"{tomorrow:%Y-%m-%d}" in errors[0].msg
    call_command("create_usage_log_partitions", "--days-ahead", "3", stdout=StringIO())
    assert not [
        m for m in checks.run_checks(tags=[checks.Tags.database], databases=["default"]) if m.id == "usagelogs.E010"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_failed_partition_creation_is_logged_at_error_and_fails_the_command(log_records) -> None:
    later = partitions.day_start(timezone.now()) + timedelta(days=30)
    with connection.cursor() as cursor:  # something already holds the partition's name
        cursor.execute(f'CREATE TABLE "{partitions.partition_name(later)}" (x int)')
    written(method="GET", path="/waiting", status_code=200, timestamp=later + timedelta(hours=2))
    try:
        with pytest.raises(CommandError, match="PARTITION_FAILED"):
            call_command("create_usage_log_partitions", stdout=StringIO())
        assert any(f"{later:%Y-%m-%d}" in r.getMessage() and r.levelname == "ERROR" for r in log_records)
        # The row was never lost: it waits in the default partition.
        assert where(UsageLog.objects.get(path="/waiting").id) == partitions.DEFAULT
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE "{partitions.partition_name(later)}"')


@pytest.mark.django_db(transaction=True)
def test_prune_drops_whole_days_and_trims_the_boundary_and_the_default(user) -> None:
    now = timezone.now()
    for days in range(1, 6):
        partitions.create_day(partitions.day_start(now - timedelta(days=days)))
    workspace = personal(user)
    for hours in range(0, 5 * 24, 5):
        written(
            workspace=workspace, method="GET", path=f"/{hours}", status_code=200, timestamp=now - timedelta(hours=hours)
        )
    written(workspace=workspace, method="GET", path="/ancient", status_code=200, timestamp=now - timedelta(days=400))
    cutoff = now - timedelta(days=2)
    expected_kept = set(UsageLog.objects.filter(timestamp__gte=cutoff).values_list("id", flat=True))
    old_days = [p.name for p in partitions.partitions() if p.end is not None and p.end <= cutoff]
    assert len(old_days) >= 2

    out = StringIO()
    call_command("prune_usage_logs", "--days", "2", "--batch-size", "3", stdout=out)
    text = out.getvalue()
    assert all(f"dropped partition {name}" in text for name in old_days)
    assert "deleted " in text  # the boundary day and the default partition, in batches
    assert set(UsageLog.objects.values_list("id", flat=True)) == expected_kept
    assert not set(old_days) & {p.name for p in partitions.partitions()}
    assert partitions.detached() == []  # detached, then dropped: no table of an old day is left
    assert not UsageRollup.objects.filter(hour__lt=cutoff - timedelta(hours=1)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_day_detached_by_an_interrupted_prune_is_dropped_by_the_next() -> None:
    """A prune stopped between taking days out of the table and dropping them leaves their tables;
    their rows are already out of every query, and the next prune drops them."""
    now = timezone.now()
    day = partitions.day_start(now - timedelta(days=10))
    partitions.create_day(day)
    old = written(method="GET", path="/old", status_code=200, timestamp=day + timedelta(hours=1))
    partitions.detach([p for p in partitions.partitions() if p.start == day], lock_timeout_ms=50, attempts=1)
    assert partitions.detached() == [partitions.partition_name(day)]
    assert not UsageLog.objects.filter(pk=old.pk).exists()

    call_command("prune_usage_logs", "--days", "30", stdout=StringIO())
    assert partitions.detached() == []


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_drops_nothing() -> None:
    now = timezone.now()
    day = partitions.day_start(now - timedelta(days=10))
    partitions.create_day(day)
    written(method="GET", path="/old", status_code=200, timestamp=day + timedelta(hours=1))
    out = StringIO()
    call_command("prune_usage_logs", "--days", "5", "--dry-run", stdout=out)
    assert f"would drop partition {partitions.partition_name(day)}" in out.getvalue()
    assert UsageLog.objects.filter(path="/old").exists()
