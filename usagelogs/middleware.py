"""The one place that records API requests, after the response is known."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apikeys.client_ip import get_client_ip
from apikeys.networks import sortable_key
from apikeys.request import identify_key
from apikeys.usage import record_use
from workspaces.current import current_membership

from .conf import conf
from .recorder import logger, recorder

MAX_PATH = 2048
MAX_USER_AGENT = 512


class UsageLogMiddleware:
    """Record every request under the API prefix, whatever its outcome (SPEC §5)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(conf.API_PREFIX) or path in conf.excluded_paths:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._record(request, response, elapsed_ms)
        return response

    def _record(self, request: HttpRequest, response: HttpResponse, elapsed_ms: float) -> None:
        context = identify_key(request)
        address = get_client_ip(request)
        workspace_id = context.workspace_id
        if workspace_id is None and not context.key_prefix:
            workspace_id = _session_workspace_id(request)
        now = timezone.now()
        record_use(request, response.status_code, now)
        recorder.record(
            {
                "timestamp": now,
                "workspace_id": workspace_id,
                "api_key_id": context.key_id,
                "key_prefix": context.key_prefix,
                "method": request.method[:10] if request.method else "",
                "path": request.path[:MAX_PATH],
                "status_code": response.status_code,
                "client_ip": address.text if address else None,
                "client_ip_key": sortable_key(address.version, address.value) if address else "",
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
                "error_code": context.error_code,
                "decision": context.decision,
                "matched_entry_id": context.matched_entry_id,
                "matched_cidr": context.matched_cidr,
                "response_time_ms": round(elapsed_ms, 3),
            }
        )


def _session_workspace_id(request: HttpRequest) -> Any:
    """The current workspace of a signed-in session that sent no key, or ``None``.

    The view has usually read it already (it is kept on the request); if reading it fails now,
    the row is still written, without a workspace, rather than fail the response.
    """
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(request, "session"):
        return None
    try:
        return current_membership(request).workspace_id
    except DatabaseError as exc:
        logger.warning("Usage-log row recorded without its workspace: %s", exc)
        return None
