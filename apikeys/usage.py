"""Per-process throttle for ``last_used_*`` writes: at most one attempt per key per interval."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .conf import conf

_last_marked: dict[Any, datetime] = {}


def should_mark_used(key_id: Any, now: datetime) -> bool:
    """True when this process has not recorded use of ``key_id`` within the interval."""
    previous = _last_marked.get(key_id)
    if previous is not None and now - previous < timedelta(seconds=conf.LAST_USED_INTERVAL):
        return False
    if len(_last_marked) > 10_000:
        _last_marked.clear()
    _last_marked[key_id] = now
    return True
