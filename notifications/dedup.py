"""At most once per key and address in a window, exactly, across every server and worker.

The claim is one conditional ``UPDATE`` of the :class:`EventMark` row (or the ``INSERT`` of its
first one, which the unique constraint lets only one writer win): the database decides, so it
holds without Redis and under any number of concurrent writers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from .models import EventMark


def last_fired(kind: str, key_id: Any, address: str) -> datetime | None:
    """When the mark last fired, or ``None`` if it never did."""
    return (
        EventMark.objects.filter(kind=kind, api_key_id=key_id, address=address)
        .values_list("fired_at", flat=True)
        .first()
    )


def claim(kind: str, key_id: Any, address: str, *, window: timedelta, now: datetime) -> bool:
    """Take the right to fire ``kind`` for the key and address now; ``False`` if it fired within ``window``."""
    updated = EventMark.objects.filter(
        kind=kind, api_key_id=key_id, address=address, fired_at__lte=now - window
    ).update(fired_at=now)
    if updated:
        return True
    if EventMark.objects.filter(kind=kind, api_key_id=key_id, address=address).exists():
        return False
    try:
        with transaction.atomic():
            EventMark.objects.create(kind=kind, api_key_id=key_id, address=address, fired_at=now)
    except IntegrityError:  # another writer claimed it first, or the key is gone
        return False
    return True
