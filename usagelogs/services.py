"""Writes to usage logs other than recording: retention."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from .models import UsageLog


def prune_logs(
    *,
    cutoff: datetime,
    batch_size: int,
    dry_run: bool = False,
    pause: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Delete rows older than ``cutoff`` in short transactions of ``batch_size`` rows.

    Short batches keep each write lock brief, and ``pause`` seconds between them let waiting
    writers in, so that request logging is never held up long.
    """
    old = UsageLog.objects.filter(timestamp__lt=cutoff)
    total = old.count()
    if dry_run or total == 0:
        return total
    done = 0
    while True:
        ids = list(old.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return done
        with transaction.atomic():
            done += UsageLog.objects.filter(id__in=ids).delete()[0]
        if progress is not None:
            progress(done, total)
        if pause:
            time.sleep(pause)
