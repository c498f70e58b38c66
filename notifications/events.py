"""Raising an event: one row in the transaction that caused it, then a message to the worker.

A request that raises an event only writes that row and, once its transaction commits, enqueues
:func:`tasks.dispatch_event`. If the queue's broker is down, the enqueue fails quietly and the
row waits: the worker's periodic sweep (every minute) dispatches every event left undispatched.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apikeys.models import ApiKey

from .models import Event

logger = logging.getLogger("keyfence.notifications")


def key_data(key: ApiKey) -> dict[str, Any]:
    """A key's public fields, as events carry them: never its secret or hash."""
    return {
        "id": str(key.pk),
        "name": key.name,
        "prefix": key.prefix,
        "status": key.status,
        "allowlist_mode": key.allowlist_mode,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


def emit(*, workspace_id: Any, type: str, data: dict[str, Any], key: ApiKey | None = None) -> Event:
    """Store the event now, in the caller's transaction; dispatch it after that commits."""
    if key is not None:
        data = {"key": key_data(key), **data}
    event = Event.objects.create(workspace_id=workspace_id, type=type, data=data, api_key=key)
    transaction.on_commit(lambda: enqueue_dispatch(event.pk))
    return event


def enqueue_dispatch(event_id: Any) -> None:
    """Hand the event to the worker; a broker outage leaves it for the sweep."""
    from .tasks import dispatch_event

    try:
        dispatch_event(str(event_id))
    except Exception:
        logger.warning("Could not queue event %s now; the worker's sweep will send it.", event_id, exc_info=True)
