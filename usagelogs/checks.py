"""System checks on the usagelogs settings: one stable id per rule, each on the raw value."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError
from django.utils import timezone

from .conf import LOG_MODES, conf


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every ``KEYFENCE_*`` setting of the usage-log app."""
    errors = []
    mode = conf.raw("LOG_MODE")
    if mode not in LOG_MODES:
        errors.append(Error(f"KEYFENCE_LOG_MODE is {mode!r}; it must be 'batch' or 'sync'.", id="usagelogs.E001"))
    days = conf.raw("LOG_RETENTION_DAYS")
    if not _is_int(days) or days < 1:
        errors.append(
            Error("KEYFENCE_LOG_RETENTION_DAYS must be a positive whole number of days.", id="usagelogs.E002")
        )
    paths = conf.raw("LOG_EXCLUDE_PATHS")
    if (
        isinstance(paths, str)
        or not isinstance(paths, (list, tuple))
        or not all(isinstance(path, str) and path.startswith("/") for path in paths)
    ):
        errors.append(
            Error("KEYFENCE_LOG_EXCLUDE_PATHS must be a list of paths starting with '/'.", id="usagelogs.E003")
        )
    for name in (
        "LOG_BATCH_SIZE",
        "LOG_MAX_QUEUE",
        "LOG_WRITE_RETRIES",
        "PRUNE_BATCH_SIZE",
        "PRUNE_LOCK_TIMEOUT_MS",
        "PARTITION_DAYS_AHEAD",
    ):
        value = conf.raw(name)
        if not _is_int(value) or value < 1:
            errors.append(Error(f"KEYFENCE_{name} must be a positive whole number.", id="usagelogs.E004"))
    for name in ("LOG_FLUSH_INTERVAL", "PRUNE_PAUSE_SECONDS"):
        value = conf.raw(name)
        if not _is_number(value) or value < 0:
            errors.append(Error(f"KEYFENCE_{name} must be a number of seconds, 0 or more.", id="usagelogs.E005"))
    return errors


@register(Tags.database)
def check_partitions(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """On PostgreSQL: tomorrow's partition exists, and no rows wait in the default partition.

    Run by ``manage.py check --database default`` and before ``migrate``. Rows in the default
    partition are never lost, but they make creating their day's partition slower and are pruned
    row by row: both mean that ``create_usage_log_partitions`` has not run, or failed.
    """
    if not databases:
        return []
    from . import partitions

    try:
        problems = list(partitions.coverage_problems(now=timezone.now(), days_ahead=1))
    except DatabaseError as exc:
        return [Warning(f"Could not read the usage-log partitions: {exc}", id="usagelogs.W011")]
    return [
        (Error if problem.startswith("no ") else Warning)(
            f"{problem[0].upper()}{problem[1:]}.",
            hint="Run `python manage.py create_usage_log_partitions` (daily, from the scheduler).",
            id="usagelogs.E010" if problem.startswith("no ") else "usagelogs.W010",
        )
        for problem in problems
    ]
