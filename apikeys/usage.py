"""Per-process throttle for ``last_used_*`` writes: at most one attempt per key per interval."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from .conf import conf

_last_marked: dict[Any, datetime] = {}
_interval: dict[str, timedelta] = {}


def _throttle() -> timedelta:
    interval = _interval.get("value")
    if interval is None:
        interval = _interval["value"] = timedelta(seconds=conf.LAST_USED_INTERVAL)
    return interval


@receiver(setting_changed, dispatch_uid="keyfence-usage-settings")
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # The interval is read once per process rather than on each request; a test may change it.
    if setting == "KEYFENCE_LAST_USED_INTERVAL":
        _interval.clear()


def should_mark_used(key_id: Any, now: datetime) -> bool:
    """True when this process has not recorded use of ``key_id`` within the interval."""
    previous = _last_marked.get(key_id)
    if previous is not None and now - previous < _throttle():
        return False
    if len(_last_marked) > 10_000:
        _last_marked.clear()
    _last_marked[key_id] = now
    return True
