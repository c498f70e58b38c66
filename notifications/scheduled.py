"""The scheduled jobs' work, callable without a worker: expiry warnings, inactive keys, and the
usage log's upkeep."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.management import call_command, get_commands
from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services.inactive import revoke_inactive_keys

from .dedup import claim
from .events import emit
from .models import EventType

# Warned once per key, threshold and expiry date: a key whose expiry moves is warned again.
WARNINGS = ((timedelta(days=1), "key.expiring.1d"), (timedelta(days=7), "key.expiring.7d"))
FOREVER = timedelta(days=36500)
PARTITION_COMMANDS = ("maintain_usage_log_partitions", "create_usage_log_partitions")
# The usage-log app's upkeep, run where that app is installed: the daily level of its rollup, and retention.
SEAL_COMMANDS = ("seal_usage_rollup",)
PRUNE_COMMANDS = ("prune_usage_logs",)


def warn_expiring_keys(*, now: datetime | None = None) -> int:
    """Raise ``key.expiring`` 7 days and 1 day before each active key expires; returns how many."""
    now = now or timezone.now()
    keys = ApiKey.objects.filter(
        revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + WARNINGS[-1][0]
    ).select_related("workspace")
    raised = 0
    for key in keys:
        assert key.expires_at is not None  # filtered above
        left = key.expires_at - now
        stamp = key.expires_at.isoformat()
        with transaction.atomic():
            # The nearest threshold speaks; the ones before it are claimed too, so that a key
            # created 12 hours before it expires gets one warning, not two.
            due = [kind for within, kind in WARNINGS if left <= within]
            claimed = [claim(kind, key.pk, stamp, window=FOREVER, now=now) for kind in due]
            if claimed and claimed[0]:
                days = 1 if left <= WARNINGS[0][0] else 7
                emit(
                    workspace_id=key.workspace_id,
                    type=EventType.KEY_EXPIRING,
                    data={"expires_at": stamp, "days": days},
                    key=key,
                )
                raised += 1
    return raised


def revoke_inactive() -> int:
    """The inactive-key policy (SPEC §14); each revocation raises ``key.revoked`` with reason ``inactive``."""
    return len(revoke_inactive_keys())


def maintain_partitions() -> bool:
    """Run the usage-log partition maintenance command, where the usage-log app has one."""
    return _run_first_of(PARTITION_COMMANDS)


def seal_usage_days() -> bool:
    """Sum ended days of the usage-log rollup into its daily level, where the usage-log app has one."""
    return _run_first_of(SEAL_COMMANDS)


def prune_usage_logs() -> bool:
    """Remove usage logs older than their retention period, where the usage-log app is installed."""
    return _run_first_of(PRUNE_COMMANDS)


def _run_first_of(names: tuple[str, ...]) -> bool:
    commands = get_commands()
    for name in names:
        if name in commands:
            call_command(name, verbosity=0)
            return True
    return False
