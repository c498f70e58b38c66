"""The body every webhook and e-mail of an event is built from (SPEC §16)."""

from __future__ import annotations

import json
from typing import Any

from .models import Event


def event_body(event: Event) -> dict[str, Any]:
    """``{"id", "type", "created_at", "workspace", "data"}``: public fields only, never a secret."""
    workspace = event.workspace
    return {
        "id": event.public_id,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "workspace": {"id": str(workspace.pk), "slug": workspace.slug, "name": workspace.name},
        "data": event.data,
    }


def event_bytes(event: Event) -> bytes:
    return json.dumps(event_body(event), separators=(",", ":"), sort_keys=True).encode()
