"""Extension points that other apps fill in, so that apikeys never imports them.

The usage-log app, when installed, registers where the allowlist editor's "Recently blocked
IPs" come from, and a key's traffic by address for the rollout assistant (suggestions and
simulation); without it, the editor leaves those out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

# (workspace_id, key_id, since) -> rows of {"client_ip", "count", "last_seen"}, newest first.
BlockedIpsSource = Callable[..., Sequence[Mapping[str, Any]]]
_blocked_ips_sources: list[BlockedIpsSource] = []


def register_blocked_ips_source(source: BlockedIpsSource) -> None:
    """Name the function that lists a key's recently blocked addresses; registering twice is harmless."""
    if source not in _blocked_ips_sources:
        _blocked_ips_sources.append(source)


# (workspace_id, key_id, since) -> rows of {"client_ip", "requests", "first_seen", "last_seen"}.
TrafficSource = Callable[..., Sequence[Mapping[str, Any]]]
_traffic_sources: list[TrafficSource] = []


def register_traffic_source(source: TrafficSource) -> None:
    """Name the function that aggregates a key's logged requests by client address."""
    if source not in _traffic_sources:
        _traffic_sources.append(source)


def traffic_recorded() -> bool:
    """Whether an installed app aggregates traffic by address (the rollout assistant needs one)."""
    return bool(_traffic_sources)


def traffic_by_address(*, workspace_id: Any, key_id: Any, since: datetime) -> Sequence[Mapping[str, Any]] | None:
    """The key's requests since ``since`` by client address, or ``None`` when no installed app records them."""
    if not _traffic_sources:
        return None
    return _traffic_sources[-1](workspace_id=workspace_id, key_id=key_id, since=since)


def blocked_ips(*, workspace_id: Any, key_id: Any, since: datetime) -> Sequence[Mapping[str, Any]] | None:
    """The key's recently blocked addresses, or ``None`` when no installed app records them."""
    if not _blocked_ips_sources:
        return None
    return _blocked_ips_sources[-1](workspace_id=workspace_id, key_id=key_id, since=since)


# (workspace_id, key_id, since) -> the distinct client addresses the key answered 2xx or 3xx for.
UsedFromSource = Callable[..., Sequence[str]]
_used_from_sources: list[UsedFromSource] = []


def register_used_from_source(source: UsedFromSource) -> None:
    """Name the function that lists the addresses a key was used from successfully."""
    if source not in _used_from_sources:
        _used_from_sources.append(source)


def used_from(*, workspace_id: Any, key_id: Any, since: datetime) -> Sequence[str] | None:
    """The addresses the key was used from successfully since ``since``, or ``None`` when no
    installed app records requests (leak containment then revokes rather than guesses)."""
    if not _used_from_sources:
        return None
    return _used_from_sources[-1](workspace_id=workspace_id, key_id=key_id, since=since)


# (function, keyword arguments) -> None: queue the call on a task queue.
Deferrer = Callable[[Callable[..., Any], dict[str, Any]], None]
_deferrers: list[Deferrer] = []
logger = logging.getLogger("keyfence.extensions")


def register_deferrer(deferrer: Deferrer) -> None:
    """Name the task queue that runs work after the response (the notifications app's Huey)."""
    if deferrer not in _deferrers:
        _deferrers.append(deferrer)


def defer(function: Callable[..., Any], **kwargs: Any) -> None:
    """Run ``function(**kwargs)`` once the current transaction commits: on the task queue when an
    installed app provides one, else at once. If the queue refuses it (its broker is down), it
    runs at once instead, so that the work is never lost."""

    def run() -> None:
        if _deferrers:
            try:
                _deferrers[-1](function, kwargs)
                return
            except Exception:
                logger.exception("The task queue refused %s; running it now.", function.__qualname__)
        function(**kwargs)

    transaction.on_commit(run)
