"""Last-used tracking: ``last_used_*`` written at most once per key per interval, per process."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from .conf import conf
from .context import key_context
from .request import client_ip_text
from .services import key_mark_used

logger = logging.getLogger("keyfence.apikeys")
# A refused request never counts as use (SPEC §3, step 7).
_REFUSED = frozenset({401, 403})

_last_marked: dict[Any, datetime] = {}


def should_mark_used(key_id: Any, now: datetime) -> bool:
    """True when this process has not recorded use of ``key_id`` within the interval."""
    previous = _last_marked.get(key_id)
    if previous is not None and (now - previous).total_seconds() < conf.LAST_USED_INTERVAL:
        return False
    if len(_last_marked) > 10_000:
        _last_marked.clear()
    _last_marked[key_id] = now
    return True


def record_use(request: Any, status_code: int, now: datetime) -> None:
    """Note that the request's key was used, once its answer is known; never raises.

    Only a request the key authenticated and that was not refused counts. The write is
    bookkeeping: if it fails, the answer stands and the failure is logged.
    """
    context = key_context(request)
    if not context.authenticated or status_code in _REFUSED or not should_mark_used(context.key_id, now):
        return
    try:
        key_mark_used(key_id=context.key_id, ip=client_ip_text(request), entry_id=context.matched_entry_id, now=now)
    except Exception as exc:  # noqa: BLE001 - bookkeeping must never turn an answer into a 500
        logger.warning("Could not record the use of key %s: %s", context.key_prefix, exc)
