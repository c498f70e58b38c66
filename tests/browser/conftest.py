"""Browser fixtures: Debian Chromium driven by Playwright's sync API against ``live_server``.

Chromium missing or failing to start skips these tests, unless ``KEYFENCE_REQUIRE_BROWSER=1``
(as in CI), which turns that into a failure. The fixtures are named so that they do not clash
with the pytest-playwright plugin's ``browser``/``context``/``page``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .helpers import DESKTOP, foreign_requests, session_cookies

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
INSTALL_HINT = "apt-get update && apt-get install -y chromium"


def _unavailable(message: str) -> None:
    if os.environ.get("KEYFENCE_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def pw_chromium() -> Iterator[Any]:
    """One Chromium for the browser tests, stopped before any other package's tests run."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM}. Install it with: {INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which Django's
    # async-safety check mistakes for async code; the tests' ORM calls are plain synchronous ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        manager.stop()
        _unavailable(f"Chromium at {CHROMIUM} failed to start ({exc}). Reinstall it with: {INSTALL_HINT}")
    yield browser
    browser.close()
    manager.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def requested_urls() -> list[str]:
    """Every URL the browser asked for during the test."""
    return []


@pytest.fixture
def browser_page(pw_chromium: Any, live_server: Any, requested_urls: list[str]) -> Iterator[Any]:
    """A fresh browser context and page at desktop size; no request may leave 127.0.0.1."""
    context = pw_chromium.new_context(viewport=DESKTOP, base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(10_000)
    context.on("request", lambda request: requested_urls.append(request.url))
    page = context.new_page()
    yield page
    context.close()
    assert foreign_requests(requested_urls) == []


@pytest.fixture
def sign_in(browser_page: Any, live_server: Any) -> Callable[[Any], Any]:
    """Give the browser a signed-in session for ``user`` (the sign-in form has its own test)."""

    def sign_in_as(user: Any) -> Any:
        browser_page.context.add_cookies(session_cookies(user, live_server.url))
        return browser_page

    return sign_in_as


@pytest.fixture
def axe_context(pw_chromium: Any, live_server: Any) -> Iterator[Any]:
    """A context that ignores the CSP, so that axe-core can be injected from its local file."""
    context = pw_chromium.new_context(viewport=DESKTOP, base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context
    context.close()
