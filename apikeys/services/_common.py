"""What every write shares: the actor, audit events, row locks and cache invalidation."""

from __future__ import annotations

import enum
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F

from workspaces.access import Actor, authorize
from workspaces.roles import Action

from .. import keycache
from ..models import AllowlistMode, ApiKey, AuditEvent
from ..windows import iso

INVALID_SCOPE = "INVALID_SCOPE"
INVALID_MODE = "INVALID_MODE"
INVALID_GRACE = "INVALID_GRACE"
SCOPE_NOT_HELD = "SCOPE_NOT_HELD"
KEY_NOT_ACTIVE = "KEY_NOT_ACTIVE"


class Unset(enum.Enum):
    """The value of an argument the caller did not pass: unlike ``None``, it changes nothing."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


def key_snapshot(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "description": key.description,
        "scopes": list(key.scopes),
        "allowlist_mode": key.allowlist_mode,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def entries_snapshot(key: ApiKey) -> list[dict[str, Any]]:
    """The entries for an audit event; a temporary or scheduled entry records its window (SPEC §15)."""
    rows = key.entries.order_by("created_at", "id").values_list("cidr", "label", "not_before", "expires_at")
    return [entry_snapshot(cidr, label, not_before, expires_at) for cidr, label, not_before, expires_at in rows]


def entry_snapshot(cidr: str, label: str, not_before: Any = None, expires_at: Any = None) -> dict[str, Any]:
    snapshot: dict[str, Any] = {"cidr": cidr, "label": label}
    if not_before is not None:
        snapshot["not_before"] = iso(not_before)
    if expires_at is not None:
        snapshot["expires_at"] = iso(expires_at)
    return snapshot


def audit(key: ApiKey, actor: Actor, action: str, before: Any = None, after: Any = None) -> AuditEvent:
    return AuditEvent.objects.create(
        api_key=key,
        workspace_id=key.workspace_id,
        action=action,
        actor_user_id=actor.user_id,
        actor_key_id=actor.key_id,
        actor_system=actor.name if actor.system else "",
        client_ip=actor.ip,
        before=before,
        after=after,
    )


def touch(key: ApiKey) -> None:
    """Bump the key's version so that every process rereads it on its next request."""
    ApiKey.objects.filter(pk=key.pk).update(version=F("version") + 1)
    keycache.invalidate(key.prefix)


def lock(key: ApiKey) -> ApiKey:
    """Lock the key's row for the rest of the transaction; edits to one key run one at a time."""
    return ApiKey.objects.select_for_update().get(pk=key.pk)


def lock_for_change(key: ApiKey, actor: Actor) -> ApiKey:
    """Check that ``actor`` may change ``key`` (SPEC §13), then lock its row.

    Its creator (a developer or above) or an admin of its workspace may; anyone else gets
    ``RoleDenied``. Every change to a key or its allowlist starts here.
    """
    authorize(actor, key.workspace_id, Action.MANAGE_OWN_KEY, created_by_id=key.created_by_id)
    return lock(key)


def validate_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in AllowlistMode.values:
        raise ValidationError({"allowlist_mode": ValidationError("Choose enforce or report.", code=INVALID_MODE)})
    return mode
