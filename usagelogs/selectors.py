"""Reads of usage logs, scoped to their owner."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, QuerySet

from .models import Decision, UsageLog


def logs_for(*, owner_id: int) -> QuerySet[UsageLog]:
    """The owner's log rows, newest first. Rows with no owner are for staff, in the admin."""
    return UsageLog.objects.filter(owner_id=owner_id).order_by("-id")


def blocked_ips_for(*, owner_id: int, key_id: object, since: datetime) -> list[dict]:
    """IPs refused by a key's allowlist since ``since``: address, count and when last seen."""
    return list(
        UsageLog.objects.filter(owner_id=owner_id, api_key_id=key_id, timestamp__gte=since,
                                decision__in=[Decision.BLOCKED, Decision.WOULD_BLOCK])
        .exclude(client_ip=None)
        .values("client_ip")
        .annotate(count=Count("id"), last_seen=Max("timestamp"))
        .order_by("-last_seen")[:50]
    )
