"""``ip.blocked`` and ``ip.new`` from the usage-log writer's batches (SPEC §16).

- ``ip.blocked``, trigger ``first``: a key's first block from an address in 24 hours.
- ``ip.blocked``, trigger ``spike``: at least ``KEYFENCE_BLOCK_SPIKE`` blocks from one address in
  ``KEYFENCE_BLOCK_SPIKE_MINUTES``, at most once an hour per key and address. A burst that starts
  with a ``first`` event is that event's: the spike is reported only once the address has been
  known for that long (1,000 blocked requests in a minute give one event, not two).
- ``ip.new``: a report-only key meets an address its list would block, first time in 7 days.

Each batch is grouped by key, address and decision first, so its cost follows the number of
distinct addresses, not of requests; a per-process note of when each pair could next fire skips
the database in between. The database claim (:mod:`.dedup`) is what makes it exact.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey
from usagelogs.models import Decision, UsageLog

from .conf import conf
from .dedup import claim, last_fired
from .events import emit
from .models import EventType

logger = logging.getLogger("keyfence.notifications")
FIRST_WINDOW = timedelta(hours=24)
SPIKE_WINDOW = timedelta(hours=1)
NEW_WINDOW = timedelta(days=7)
RECOUNT = timedelta(seconds=2)
FIRST, SPIKE, NEW = "ip.blocked", "ip.blocked.spike", "ip.new"

# (kind, key id, address) -> the earliest time anything could fire for it again, in this process.
_quiet: dict[tuple[str, str, str], datetime] = {}
_quiet_lock = threading.Lock()


def forget() -> None:
    """Drop the per-process notes (tests)."""
    with _quiet_lock:
        _quiet.clear()


def _is_quiet(note: tuple[str, str, str], now: datetime) -> bool:
    until = _quiet.get(note)
    return until is not None and until > now


def _note(note: tuple[str, str, str], until: datetime) -> None:
    with _quiet_lock:
        if len(_quiet) > 50_000:
            _quiet.clear()
        _quiet[note] = until


def observe(rows: list[dict[str, Any]], *, now: datetime | None = None) -> None:
    """Raise the events a written batch of blocked and ``would_block`` rows calls for."""
    now = now or timezone.now()
    groups: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        key_id, address = row.get("api_key_id"), row.get("client_ip")
        if key_id is not None and address:
            groups[(str(key_id), str(address), row["decision"])] += 1
    for (key_id, address, decision), count in groups.items():
        try:
            if decision == Decision.BLOCKED:
                _blocked(key_id, address, count, now)
            else:
                _would_block(key_id, address, count, now)
        except Exception:
            logger.exception("Could not check blocks of key %s from %s.", key_id, address)


def _key(key_id: str) -> ApiKey | None:
    return ApiKey.objects.filter(pk=key_id).first()


def _blocked(key_id: str, address: str, count: int, now: datetime) -> None:
    first_note, spike_note = (FIRST, key_id, address), (SPIKE, key_id, address)
    if not _is_quiet(first_note, now):
        with transaction.atomic():
            if claim(FIRST, key_id, address, window=FIRST_WINDOW, now=now):
                if key := _key(key_id):
                    data = {"trigger": "first", "address": address, "count": count}
                    emit(workspace_id=key.workspace_id, type=EventType.IP_BLOCKED, data=data, key=key)
                _note(first_note, now + FIRST_WINDOW)
                _note(spike_note, now + timedelta(minutes=conf.BLOCK_SPIKE_MINUTES))
                return
        fired = last_fired(FIRST, key_id, address) or now
        _note(first_note, fired + FIRST_WINDOW)
        _note(spike_note, max(_quiet.get(spike_note, now), fired + timedelta(minutes=conf.BLOCK_SPIKE_MINUTES)))
    if _is_quiet(spike_note, now):
        return
    since = now - timedelta(minutes=conf.BLOCK_SPIKE_MINUTES)
    recent = UsageLog.objects.filter(
        api_key_id=UUID(key_id), decision=Decision.BLOCKED, timestamp__gte=since, client_ip=address
    ).count()
    if recent < conf.BLOCK_SPIKE:
        # Counted again at most every RECOUNT: under a steady trickle of blocks, each batch
        # would otherwise cost a count.
        _note(spike_note, now + RECOUNT)
        return
    with transaction.atomic():
        if claim(SPIKE, key_id, address, window=SPIKE_WINDOW, now=now):
            if key := _key(key_id):
                data = {
                    "trigger": "spike",
                    "address": address,
                    "count": recent,
                    "minutes": conf.BLOCK_SPIKE_MINUTES,
                }
                emit(workspace_id=key.workspace_id, type=EventType.IP_BLOCKED, data=data, key=key)
            _note(spike_note, now + SPIKE_WINDOW)
            return
    _note(spike_note, (last_fired(SPIKE, key_id, address) or now) + SPIKE_WINDOW)


def _would_block(key_id: str, address: str, count: int, now: datetime) -> None:
    note = (NEW, key_id, address)
    if _is_quiet(note, now):
        return
    with transaction.atomic():
        if claim(NEW, key_id, address, window=NEW_WINDOW, now=now):
            if key := _key(key_id):
                data = {"address": address, "count": count}
                emit(workspace_id=key.workspace_id, type=EventType.IP_NEW, data=data, key=key)
            _note(note, now + NEW_WINDOW)
            return
    _note(note, (last_fired(NEW, key_id, address) or now) + NEW_WINDOW)
