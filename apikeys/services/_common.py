"""What every write shares: the actor, audit events, row locks and cache invalidation."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F

from .. import keycache
from ..models import AllowlistMode, ApiKey, AuditEvent

INVALID_SCOPE = "INVALID_SCOPE"
INVALID_MODE = "INVALID_MODE"
INVALID_GRACE = "INVALID_GRACE"
SCOPE_NOT_HELD = "SCOPE_NOT_HELD"
KEY_NOT_ACTIVE = "KEY_NOT_ACTIVE"


class Unset(enum.Enum):
    """The value of an argument the caller did not pass: unlike ``None``, it changes nothing."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in user, or an API key acting for its owner."""

    user_id: int | None = None
    key_id: Any = None
    key_scopes: frozenset[str] | None = None
    ip: str | None = None


def key_snapshot(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "description": key.description,
        "scopes": list(key.scopes),
        "allowlist_mode": key.allowlist_mode,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def entries_snapshot(key: ApiKey) -> list[dict[str, str]]:
    return [
        {"cidr": cidr, "label": label}
        for cidr, label in key.entries.order_by("created_at", "id").values_list("cidr", "label")
    ]


def audit(key: ApiKey, actor: Actor, action: str, before: Any = None, after: Any = None) -> AuditEvent:
    return AuditEvent.objects.create(
        api_key=key,
        workspace_id=key.workspace_id,
        action=action,
        actor_user_id=actor.user_id,
        actor_key_id=actor.key_id,
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


def validate_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in AllowlistMode.values:
        raise ValidationError({"allowlist_mode": ValidationError("Choose enforce or report.", code=INVALID_MODE)})
    return mode
