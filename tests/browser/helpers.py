"""Helpers shared by the browser tests: screenshots, layout checks and seeded log rows."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from apikeys.networks import parse_client_address, sortable_key
from tests.usagelogs.helpers import written
from usagelogs.models import UsageLog

# `make screenshots` refreshes the committed ones in docs/screenshots; a plain test run writes
# to a temporary folder, so that it leaves the working tree clean.
SCREENSHOTS = Path(os.environ.get("KEYFENCE_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "keyfence-screenshots")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DESKTOP = {"width": 1280, "height": 900}


def session_cookies(user: Any, url: str, *, workspace: Any = None) -> list[dict[str, str]]:
    """The cookie of a signed-in session for ``user`` at ``url``, acting in ``workspace`` if given."""
    from django.conf import settings
    from django.test import Client

    from workspaces.current import SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    if workspace is not None:
        session[SESSION_KEY] = workspace.slug
        session.save()
    return [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": url}]


def foreign_requests(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine."""
    return [
        url
        for url in urls
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname not in LOCAL_HOSTS
    ]


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot for the docs, replacing the previous one."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def scroll_width(page: Any) -> int:
    """The page's width including anything that sticks out sideways."""
    return page.evaluate("document.documentElement.scrollWidth")


def seed_log(
    owner: Any,
    key: Any,
    *,
    ip: str = "203.0.113.5",
    status: int = 200,
    decision: str = "allowed",
    method: str = "GET",
    path: str = "/api/v1/whoami",
    error: str = "",
    at: datetime | None = None,
) -> UsageLog:
    """A usage-log row as the middleware would have written it, through the log writer (with its
    hourly rollup, which the chart reads)."""
    address = parse_client_address(ip)
    return written(
        timestamp=at or timezone.now(),
        workspace_id=key.workspace_id if key else None,
        api_key=key,
        key_prefix=key.prefix if key else "",
        method=method,
        path=path,
        status_code=status,
        client_ip=ip,
        client_ip_key=sortable_key(address.version, address.value),
        decision=decision,
        error_code=error,
        user_agent="curl/8.5.0",
        response_time_ms=3.2,
    )
