"""create_workspace, and create_api_key --workspace (SPEC §13, CLI)."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apikeys.models import ApiKey
from apikeys.secrets import hash_key
from workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_workspace_prints_the_slug_alone_and_makes_the_user_its_owner(user: Any) -> None:
    assert run("create_workspace", "--owner", "alice", "--name", "Payments Team") == "payments-team\n"
    workspace = Workspace.objects.get(slug="payments-team")
    assert (workspace.name, workspace.personal_for_id) == ("Payments Team", None)
    assert list(Membership.objects.filter(workspace=workspace).values_list("user_id", "role")) == [(user.pk, "owner")]
    assert run("create_workspace", "--owner", "alice", "--name", "payments team") == "payments-team-2\n"


@pytest.mark.parametrize(
    "args, code",
    [
        pytest.param(["--owner", "nobody", "--name", "Ops"], "USER_NOT_FOUND", id="unknown-owner"),
        pytest.param(["--owner", "alice", "--name", ""], "INVALID_NAME", id="empty-name"),
        pytest.param(["--owner", "alice", "--name", "x" * 101], "INVALID_NAME", id="long-name"),
        pytest.param(["--owner", "alice", "--name", "Ops", "--slug", ""], "INVALID_SLUG", id="empty-slug"),
        pytest.param(["--owner", "alice", "--name", "Ops", "--slug", "x" * 1000], "INVALID_SLUG", id="1000-char-slug"),
        pytest.param(["--owner", "alice", "--name", "Ops", "--slug", "Ops Team"], "INVALID_SLUG", id="slug-with-space"),
        pytest.param(["--owner", "alice", "--name", "Ops", "--slug", "taken"], "SLUG_TAKEN", id="slug-taken"),
    ],
)
def test_create_workspace_refuses_bad_input_with_its_code_and_makes_nothing(
    user: Any, args: list[str], code: str
) -> None:
    Workspace.objects.create(name="Taken", slug="taken")
    with pytest.raises(CommandError, match=rf"^{code}:"):
        run("create_workspace", *args)
    assert list(Workspace.objects.values_list("slug", flat=True)) == ["taken"]


def make_team(user: Any, role: str | None) -> Workspace:
    team = Workspace.objects.create(name="Ops", slug="ops")
    if role is not None:
        Membership.objects.create(workspace=team, user=user, role=role)
    return team


@pytest.mark.parametrize("role", ["developer", "admin", "owner"])
def test_create_api_key_puts_the_key_in_a_workspace_where_the_user_may_create_keys(user: Any, role: str) -> None:
    team = make_team(user, role)
    key = run("create_api_key", "--user", "alice", "--name", "deploy", "--workspace", "ops").strip()
    assert re.fullmatch(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}", key)
    assert ApiKey.objects.get(secret_hash=hash_key(key)).workspace_id == team.pk


@pytest.mark.parametrize(
    "role, slug, code",
    [
        pytest.param("viewer", "ops", "INSUFFICIENT_ROLE", id="viewer"),
        pytest.param(None, "ops", "INSUFFICIENT_ROLE", id="not-a-member"),
        pytest.param("owner", "elsewhere", "WORKSPACE_NOT_FOUND", id="unknown-workspace"),
    ],
)
def test_create_api_key_refuses_a_workspace_the_user_may_not_create_keys_in(
    user: Any, role: str | None, slug: str, code: str
) -> None:
    make_team(user, role)
    with pytest.raises(CommandError, match=rf"^{code}:"):
        run("create_api_key", "--user", "alice", "--name", "deploy", "--workspace", slug)
    assert not ApiKey.objects.exists()


def test_create_api_key_defaults_to_the_personal_workspace(user: Any) -> None:
    key = run("create_api_key", "--user", "alice", "--name", "deploy").strip()
    assert ApiKey.objects.get(secret_hash=hash_key(key)).workspace == Workspace.objects.get(personal_for=user)
