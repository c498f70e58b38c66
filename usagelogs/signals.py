"""What the usage-log writer announces to apps above it, which it never imports.

``blocks_written`` is sent once per written batch that holds blocked or report-only
(``would_block``) rows, with ``rows``: those rows only, as the writer wrote them (dicts of field
attnames: ``workspace_id``, ``api_key_id``, ``client_ip``, ``decision``, ``timestamp``, ...).
It is sent after the batch is committed, from the writer's thread (in ``sync`` mode, from the
request). A receiver that fails is logged and never stops the writer.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

from .models import Decision, UsageLog

logger = logging.getLogger("keyfence.usagelogs")
blocks_written = Signal()
_FLAGGED = frozenset({Decision.BLOCKED.value, Decision.WOULD_BLOCK.value})


def announce_blocks(rows: list[dict[str, Any]]) -> None:
    """Hand a written batch's blocked and ``would_block`` rows to the receivers, if any listen."""
    if not blocks_written.has_listeners(UsageLog):
        return
    flagged = [row for row in rows if row.get("decision") in _FLAGGED]
    if not flagged:
        return
    for _receiver, result in blocks_written.send_robust(UsageLog, rows=flagged):
        if isinstance(result, Exception):
            logger.error("A receiver of written blocks failed: %r", result, exc_info=result)
