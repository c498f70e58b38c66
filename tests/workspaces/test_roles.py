"""The role rule: every role against every action, as SPEC §13's table has it."""

from __future__ import annotations

import pytest

from workspaces.roles import Action, can

ROLES = [None, "viewer", "developer", "admin", "owner"]
# For each action, the first role (in ROLES order) that may do it; None means nobody.
LEAST = {
    Action.VIEW: "viewer",
    Action.CREATE_KEY: "developer",
    Action.MANAGE_ANY_KEY: "admin",
    Action.MANAGE_POLICIES: "admin",
    Action.MANAGE_WEBHOOKS: "admin",
    Action.MANAGE_MEMBERS: "admin",
    Action.MANAGE_OWNERS: "owner",
}


@pytest.mark.parametrize("action", list(LEAST), ids=lambda action: action.value)
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "not-a-member")
def test_each_role_may_do_what_its_rank_allows(role: str | None, action: Action) -> None:
    assert can(role, action) is (ROLES.index(role) >= ROLES.index(LEAST[action]))


@pytest.mark.parametrize(
    "role, created_it, allowed",
    [
        pytest.param("viewer", True, False, id="viewer-own-key"),
        pytest.param("developer", True, True, id="developer-own-key"),
        pytest.param("developer", False, False, id="developer-someone-elses-key"),
        pytest.param("admin", False, True, id="admin-any-key"),
        pytest.param("owner", False, True, id="owner-any-key"),
        pytest.param(None, True, False, id="not-a-member"),
    ],
)
def test_a_developer_manages_the_keys_they_created(role: str | None, created_it: bool, allowed: bool) -> None:
    assert can(role, Action.MANAGE_OWN_KEY, created_it=created_it) is allowed


@pytest.mark.parametrize("role", ["", "root", "Owner", "ADMIN"])
def test_an_unknown_role_may_do_nothing(role: str) -> None:
    assert not any(can(role, action) for action in Action)
