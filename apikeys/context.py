"""What request handling learned about the key, kept on the request for the usage log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ATTRIBUTE = "keyfence"


@dataclass(slots=True)
class KeyContext:
    """Filled in by authentication and the error handler; read by the usage-log middleware."""

    key_prefix: str = ""
    key_id: Any = None
    workspace_id: Any = None
    decision: str = "none"
    matched_entry_id: Any = None
    matched_cidr: str = ""
    error_code: str = ""
    authenticated: bool = False


def key_context(request: Any) -> KeyContext:
    """The request's context, created on first use; shared by a DRF request and its HttpRequest."""
    request = getattr(request, "_request", request)
    context = getattr(request, _ATTRIBUTE, None)
    if context is None:
        context = KeyContext()
        setattr(request, _ATTRIBUTE, context)
    return context
