"""Shared fixtures: users, keys and API clients."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apikeys import services
from apikeys.conf import BUILTIN_SCOPES
from apikeys.networks import validate_allowlist

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

    def make(owner: Any, *, name: str = "CI deploy", scopes: list[str] | None = None,
             allow: list[str | tuple[str, str]] | None = None, mode: str = "enforce", **extra: Any) -> tuple[Any, str]:
        items = [{"cidr": item} if isinstance(item, str) else {"cidr": item[0], "label": item[1]}
                 for item in allow or []]
        return services.key_create(
            owner_id=owner.pk, name=name, scopes=ALL_SCOPES if scopes is None else scopes,
            allowlist=validate_allowlist(items), allowlist_mode=mode, actor=services.Actor(user_id=owner.pk), **extra,
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
