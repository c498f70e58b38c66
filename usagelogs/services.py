"""Writes to usage logs other than recording: retention, of the logs and of their hourly rollup."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from . import partitions
from .models import DailyRollup, SealedDay, UsageLog, UsageRollup
from .rollup import hour_of


@dataclass
class PruneResult:
    """What a prune removed: whole partitions (rows estimated by the planner) and trimmed rows."""

    dropped: list[tuple[str, int]] = field(default_factory=list)
    trimmed: int = 0
    rollup_rows: int = 0
    # (start, end) on time.perf_counter() of each phase: detach, release, trim, rollup.
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)

    def seconds(self, phase: str) -> float:
        start, end = self.phases.get(phase, (0.0, 0.0))
        return end - start

    @property
    def total(self) -> int:
        return sum(rows for _, rows in self.dropped) + self.trimmed


def prune_logs(
    *,
    cutoff: datetime,
    batch_size: int,
    dry_run: bool = False,
    pause: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    dropped: Callable[[str, int, float], None] | None = None,
    lock_timeout_ms: int = 50,
) -> PruneResult:
    """Remove log rows older than ``cutoff``, rollup hours that ended before it, and the daily rollup
    of the days that start before it.

    On PostgreSQL every daily partition wholly older than ``cutoff`` is detached, all in one short
    transaction, then its table is dropped, which no log write waits for (:mod:`partitions`); the
    rows left that are older (the partition that holds ``cutoff``, the default partition, the
    attached legacy table) are deleted in batches, as everywhere on SQLite: short transactions of
    ``batch_size`` rows with ``pause`` seconds between them, so that waiting writers get in.
    """
    result = PruneResult()
    if partitions.is_partitioned():
        doomed = partitions.droppable(cutoff)
        rows = {partition.name: partitions.estimated_rows(partition.name) for partition in doomed}
        started = time.perf_counter()
        if doomed and not dry_run:
            partitions.detach(doomed, lock_timeout_ms=lock_timeout_ms, attempts=20)
        result.phases["detach"] = (started, time.perf_counter())
        for partition in doomed:
            result.dropped.append((partition.name, rows[partition.name]))
            if dropped is not None:
                dropped(partition.name, rows[partition.name], result.seconds("detach"))
        if not dry_run:
            # This run's, and any an earlier run detached but could not drop.
            partitions.release(partitions.detached(), lock_timeout_ms=lock_timeout_ms, attempts=20)
        result.phases["release"] = (result.phases["detach"][1], time.perf_counter())
    started = time.perf_counter()
    result.trimmed = _trim(cutoff, batch_size=batch_size, dry_run=dry_run, pause=pause, progress=progress)
    result.phases["trim"] = (started, time.perf_counter())
    rollup = UsageRollup.objects.filter(hour__lt=hour_of(cutoff))
    result.rollup_rows = rollup.count() if dry_run else _delete_in_batches(rollup, batch_size)
    if not dry_run:
        # Every day that starts before the cutoff, the one it cuts included: that day is sealed
        # again from the hours it has left (daily.py).
        with transaction.atomic():
            SealedDay.objects.filter(day__lt=cutoff).delete()
            DailyRollup.objects.filter(day__lt=cutoff).delete()
    result.phases["rollup"] = (result.phases["trim"][1], time.perf_counter())
    return result


def _trim(
    cutoff: datetime, *, batch_size: int, dry_run: bool, pause: float, progress: Callable[[int, int], None] | None
) -> int:
    old = UsageLog.objects.filter(timestamp__lt=cutoff)
    total = old.count()
    if dry_run or total == 0:
        return total
    done = 0
    while True:
        # By time, so that each batch is an index range of the oldest rows; the time bound on the
        # delete lets PostgreSQL look only in the partitions that can hold them.
        batch = list(old.order_by("timestamp", "id").values_list("id", "timestamp")[:batch_size])
        if not batch:
            return done
        with transaction.atomic():
            done += UsageLog.objects.filter(
                timestamp__lte=batch[-1][1], id__in=[row_id for row_id, _ in batch]
            ).delete()[0]
        if progress is not None:
            progress(done, total)
        if pause:
            time.sleep(pause)


def _delete_in_batches(queryset: QuerySet[UsageRollup], batch_size: int) -> int:
    done = 0
    while ids := list(queryset.order_by("hour").values_list("id", flat=True)[:batch_size]):
        with transaction.atomic():
            done += UsageRollup.objects.filter(id__in=ids).delete()[0]
    return done
