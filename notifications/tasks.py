"""The task queue's tasks (Huey): thin wrappers over the work, which stays testable without a worker.

``python manage.py keyfence_worker`` runs them, with the scheduler for the periodic ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import deliveries, dispatch, scheduled


@db_task()
def run_deferred(function: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Work another app deferred past its response (``apikeys.extensions.defer``), such as leak containment."""
    function(**kwargs)


@db_task()
def dispatch_event(event_id: str) -> None:
    """Send an event's e-mails and queue its webhook deliveries."""
    dispatch.dispatch(event_id)


@db_task()
def deliver(delivery_id: str) -> None:
    """One attempt at a webhook delivery; a failure schedules the next on the backoff schedule."""
    deliveries.attempt(delivery_id)


@db_periodic_task(crontab(minute="*"))
def sweep() -> None:
    """Every minute: events and deliveries whose queue message was lost (a broker outage)."""
    dispatch.sweep()


@db_periodic_task(crontab(minute="5"))
def warn_expiring_keys() -> None:
    """Hourly: ``key.expiring`` 7 days and 1 day ahead."""
    scheduled.warn_expiring_keys()


@db_periodic_task(crontab(minute="15"))
def revoke_inactive_keys() -> None:
    """Hourly: revoke keys unused for longer than their workspace's ``inactive_key_days``."""
    scheduled.revoke_inactive()


@db_periodic_task(crontab(minute="25", hour="*/6"))
def maintain_partitions() -> None:
    """Every 6 hours: create the usage log's partitions ahead (PostgreSQL)."""
    scheduled.maintain_partitions()


@db_periodic_task(crontab(minute="35"))
def seal_usage_days() -> None:
    """Hourly: the days that ended two hours ago or more, and dirty ones, into the daily rollup."""
    scheduled.seal_usage_days()


@db_periodic_task(crontab(minute="20", hour="0"))
def prune_usage_logs() -> None:
    """Daily at 00:20 UTC, so that the day it trims row by row holds only minutes: usage logs older than
    ``LOG_RETENTION_DAYS``, whole partitions on PostgreSQL."""
    scheduled.prune_usage_logs()
