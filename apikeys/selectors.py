"""Every read of keys the views need, scoped to a workspace: another workspace's key is a 404."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from .models import AllowlistEntry, ApiKey, AuditAction, AuditEvent


def key_list_for(*, workspace_id: Any) -> QuerySet[ApiKey]:
    """The workspace's keys, newest first, with their entries and creators."""
    return (
        ApiKey.objects.filter(workspace_id=workspace_id)
        .select_related("workspace", "created_by")
        .prefetch_related(Prefetch("entries", queryset=AllowlistEntry.objects.order_by("created_at", "id")))
    )


def _as_uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404("Not found.") from None


def key_get_for(*, workspace_id: Any, key_id: Any) -> ApiKey:
    """One of the workspace's keys, or ``Http404`` (for other workspaces' keys too)."""
    try:
        return key_list_for(workspace_id=workspace_id).get(pk=_as_uuid(key_id))
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None


def entry_get_for(*, key: ApiKey, entry_id: Any) -> AllowlistEntry:
    """One entry of ``key``, or ``Http404``."""
    try:
        return AllowlistEntry.objects.get(api_key=key, pk=_as_uuid(entry_id))
    except AllowlistEntry.DoesNotExist:
        raise Http404("No such allowlist entry.") from None


def events_for(*, key: ApiKey) -> QuerySet[AuditEvent]:
    """The key's audit trail, newest first."""
    return AuditEvent.objects.filter(api_key=key).order_by("-created_at", "-id")


def workspace_events(*, workspace_id: Any) -> QuerySet[AuditEvent]:
    """The workspace's audit trail (keys, allowlists, members, policies), newest first."""
    return AuditEvent.objects.filter(workspace_id=workspace_id).order_by("-created_at", "-id")


def recent_window(days: int = 7) -> Any:
    return timezone.now() - timedelta(days=days)


_DESCRIBED = (
    "name",
    "description",
    "scopes",
    "allowlist_mode",
    "expires_at",
    "rate_limit",
    "monthly_quota",
    "cidr",
    "label",
    "grace_seconds",
)


def _short(value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    elif isinstance(value, dict) and set(value) == {"requests", "per"}:
        value = f"{value['requests']}/{value['per']}"  # a rate limit
    return str(value) if value not in (None, "") else "none"


def describe_event(event: AuditEvent) -> str:
    """A one-line summary of what an audit event changed, from its before and after values."""
    before, after = event.before or {}, event.after or {}
    if event.action == AuditAction.KEY_LEAKED:
        source = f" (found at {after['source']})" if after.get("source") else ""
        return f"{after.get('outcome', 'reported')}, as the {after.get('leak_response', '')} policy says{source}"
    old = {item["cidr"] for item in before.get("allowlist", [])}
    new = {item["cidr"] for item in after.get("allowlist", [])}
    parts = [f"added {cidr}" for cidr in sorted(new - old)] + [f"removed {cidr}" for cidr in sorted(old - new)]
    for field in _DESCRIBED:
        was, now = before.get(field), after.get(field)
        name = field.replace("_", " ")
        if was != now and before:
            parts.append(f"{name}: {_short(was)} → {_short(now)}")
        elif was != now and now not in (None, "", []):
            parts.append(f"{name}: {_short(now)}")
    if not parts and before.get("allowlist") != after.get("allowlist"):
        parts.append("labels changed")
    return "; ".join(parts)


def history_for(*, key: ApiKey, limit: int = 50) -> list[AuditEvent]:
    """The key's latest audit events with their actors, each with a ``summary`` of its change."""
    events = list(events_for(key=key).select_related("actor_user", "actor_key")[:limit])
    for event in events:
        event.summary = describe_event(event)
    return events
