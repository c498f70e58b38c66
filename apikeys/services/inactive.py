"""Revoking keys nobody used for as long as their workspace allows (SPEC §14, ``inactive_key_days``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import ApiKey, WorkspacePolicy
from ._common import Actor
from .keys import key_revoke

INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class InactiveKey:
    """A key unused since ``last_seen`` (its last use, or its creation if it was never used)."""

    key: ApiKey
    last_seen: datetime
    days: int


def _unused(workspace_id: Any, days: int, now: datetime) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(workspace_id=workspace_id, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .annotate(last_seen=Coalesce("last_used_at", "created_at"))
        .filter(last_seen__lt=now - timedelta(days=days))
    )


def inactive_keys(*, now: datetime | None = None) -> list[InactiveKey]:
    """The active keys of every workspace with ``inactive_key_days`` that were unused that long."""
    now = now or timezone.now()
    found = []
    policies = WorkspacePolicy.objects.filter(inactive_key_days__isnull=False).order_by("workspace__slug")
    for workspace_id, set_days in policies.values_list("workspace_id", "inactive_key_days"):
        days = cast(int, set_days)  # never null here: filtered above
        for key in _unused(workspace_id, days, now).select_related("workspace").order_by("created_at"):
            found.append(InactiveKey(key, key.last_used_at or key.created_at, days))
    return found


def revoke_inactive_keys(*, dry_run: bool = False, now: datetime | None = None) -> list[InactiveKey]:
    """Revoke the keys :func:`inactive_keys` finds, as the workspace's own job, with reason ``inactive``.

    Each key is checked again under its row lock, so a key used a moment ago is kept. Returns what
    was revoked (with ``dry_run``, what would be, and nothing changes).
    """
    now = now or timezone.now()
    found = inactive_keys(now=now)
    if dry_run:
        return found
    revoked = []
    for item in found:
        with transaction.atomic():
            still = _unused(item.key.workspace_id, item.days, now).select_for_update().filter(pk=item.key.pk)
            if still.exists():
                key_revoke(key=item.key, actor=Actor(system=True, name="inactive keys"), reason=INACTIVE)
                revoked.append(item)
    return revoked
