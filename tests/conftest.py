"""Shared fixtures: users, keys, API clients, the usage-log writer and the two cache set-ups."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apikeys import services
from apikeys.conf import BUILTIN_SCOPES
from apikeys.networks import validate_allowlist
from tests.logs import Outage
from tests.servers import REDIS_URL, redis_available, redis_caches
from usagelogs import recorder as recorder_module
from usagelogs.recorder import recorder

ALL_SCOPES = list(BUILTIN_SCOPES)
# Modules whose every test is slow without starting app servers of its own.
SLOW_MODULES = {"test_schemathesis.py", "test_bench_smoke.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what ``make test-fast`` leaves out: tests with app servers, and the slow modules."""
    for item in items:
        if item.get_closest_marker("multiprocess") or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", "alice@example.com", "correct-horse-battery")


@pytest.fixture
def other_user(db: Any) -> Any:
    return get_user_model().objects.create_user("mallory", "mallory@example.com", "another-long-passphrase")


@pytest.fixture
def make_key(db: Any) -> Callable[..., tuple[Any, str]]:
    """Create a key through the service; returns ``(key, full_secret)``.

    ``allow`` holds CIDRs, or ``(cidr, label)`` pairs; every built-in scope unless ``scopes`` is given.
    """

    def make(
        owner: Any,
        *,
        name: str = "CI deploy",
        scopes: list[str] | None = None,
        allow: list[str | tuple[str, str]] | None = None,
        mode: str = "enforce",
        **extra: Any,
    ) -> tuple[Any, str]:
        items = [
            {"cidr": item} if isinstance(item, str) else {"cidr": item[0], "label": item[1]} for item in allow or []
        ]
        return services.key_create(
            name=name,
            scopes=ALL_SCOPES if scopes is None else scopes,
            allowlist=validate_allowlist(items),
            allowlist_mode=mode,
            actor=services.Actor(user_id=owner.pk),
            **extra,
        )

    return make


@pytest.fixture
def api() -> Callable[..., APIClient]:
    """An API client that sends a key and comes from a given REMOTE_ADDR."""

    def client(key: str | None = None, ip: str = "127.0.0.1", header: str = "bearer") -> APIClient:
        c = APIClient(REMOTE_ADDR=ip)
        if key is not None:
            if header == "bearer":
                c.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            else:
                c.credentials(HTTP_X_API_KEY=key)
        return c

    return client


# --- usage-log writer -------------------------------------------------------------------------------------


@pytest.fixture
def batch_mode(settings) -> Iterator[Callable[..., None]]:
    """Switch to batch mode with the given batch size and interval; stop the writer afterwards."""

    def configure(*, batch_size: int, interval: float) -> None:
        settings.KEYFENCE_LOG_MODE = "batch"
        settings.KEYFENCE_LOG_BATCH_SIZE = batch_size
        settings.KEYFENCE_LOG_FLUSH_INTERVAL = interval

    recorder.stop()
    yield configure
    recorder.stop()


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    """What the writer logs; its logger does not propagate to the root, where caplog listens."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("keyfence.usagelogs")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def failing_database(monkeypatch) -> Outage:
    outage = Outage(recorder_module.insert_rows)
    monkeypatch.setattr(recorder_module, "insert_rows", outage)
    return outage


# --- caches -----------------------------------------------------------------------------------------------


@pytest.fixture
def local_cache(settings: Any) -> dict[str, str]:
    """The default per-process cache, whatever REDIS_URL this run has; the env for app servers."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {"REDIS_URL": ""}


@pytest.fixture
def shared_cache(settings: Any) -> dict[str, str]:
    """Redis as the shared cache, on the test run's own database; the env for app servers."""
    if not redis_available():
        if os.environ.get("KEYFENCE_REQUIRE_SERVICES"):
            pytest.fail(f"Redis is required at {REDIS_URL}")
        pytest.skip(f"Redis is not running at {REDIS_URL}")
    settings.CACHES = redis_caches()
    return {"REDIS_URL": REDIS_URL}


@pytest.fixture(params=["local-memory", "redis"])
def cache_mode(request: Any) -> dict[str, str]:
    """Both cache set-ups, one after the other: per-process memory, and Redis as the shared cache."""
    return dict(request.getfixturevalue("shared_cache" if request.param == "redis" else "local_cache"))
