"""A key's traffic by client address, aggregated in SQL: what the rollout assistant replays.

One ``GROUP BY client_ip`` over the key's rows in the window, through the ORM on ``UsageLog``, so
that it follows the table wherever it lives (one table, or partitions). The distinct addresses
are then matched in Python by the same compiled matcher that requests use
(:mod:`apikeys.rollout`), never by a second implementation in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min

from .models import Decision, UsageLog

# Requests that reached the allowlist check: the key was valid, whatever the list decided.
# Requests refused before it (a wrong secret, a revoked key) say nothing about where the key is used.
CHECKED = (Decision.UNRESTRICTED, Decision.ALLOWED, Decision.BLOCKED, Decision.WOULD_BLOCK)


def traffic_by_address(*, workspace_id: Any, key_id: Any, since: datetime) -> list[Mapping[str, Any]]:
    """``{"client_ip", "requests", "first_seen", "last_seen"}`` per address the key was used from.

    ``client_ip`` is ``None`` for requests whose address was unknown (an unparseable proxy hop).
    """
    return list(
        UsageLog.objects.filter(
            workspace_id=workspace_id, api_key_id=key_id, timestamp__gte=since, decision__in=CHECKED
        )
        .values("client_ip")
        .annotate(requests=Count("pk"), first_seen=Min("timestamp"), last_seen=Max("timestamp"))
        .order_by()
    )
