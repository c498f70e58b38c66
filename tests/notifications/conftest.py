"""Fixtures of the notification tests: a team, keys in its workspace, and the transaction hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apikeys import services
from apikeys.networks import validate_allowlist
from notifications import blocks
from tests.policy_helpers import Team, make_team


@pytest.fixture(autouse=True)
def fresh_notes() -> Iterator[None]:
    blocks.forget()
    yield
    blocks.forget()


@pytest.fixture
def team(db: Any) -> Team:
    return make_team()


@pytest.fixture
def team_key(team: Team) -> Callable[..., tuple[Any, str]]:
    """A key of the team's workspace, created by its admin: ``(key, secret)``."""

    def make(name: str = "deploy", allow: tuple[str, ...] = ("203.0.113.0/24",), mode: str = "enforce", **extra: Any):
        return services.key_create(
            name=name,
            scopes=["keys:read", "keys:write", "logs:read"],
            allowlist=validate_allowlist([{"cidr": c} for c in allow]),
            allowlist_mode=mode,
            actor=services.Actor(user_id=team.members["admin"].pk),
            workspace_id=team.workspace.pk,
            **extra,
        )

    return make


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.KEYFENCE_WEBHOOK_ALLOW_PRIVATE = True
