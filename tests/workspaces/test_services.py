"""Personal workspaces, and keys created into them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from apikeys.models import AuditEvent
from workspaces.models import Membership, Role, Workspace
from workspaces.services import personal_workspace_for, unique_slug

pytestmark = pytest.mark.django_db


def test_a_personal_workspace_is_made_on_first_need_with_its_user_as_owner(user: Any) -> None:
    assert not Workspace.objects.exists()
    workspace = personal_workspace_for(user_id=user.pk)
    assert (workspace.personal_for_id, workspace.slug, workspace.name) == (user.pk, "alice", "alice's workspace")
    assert list(Membership.objects.values_list("workspace_id", "user_id", "role")) == [
        (workspace.pk, user.pk, Role.OWNER)
    ]
    assert personal_workspace_for(user_id=user.pk) == workspace
    assert Workspace.objects.count() == 1 and Membership.objects.count() == 1


@pytest.mark.parametrize(
    "names, slugs",
    [
        pytest.param(["alice", "Alice", "ALICE"], ["alice", "alice-2", "alice-3"], id="same-name-in-another-case"),
        pytest.param(["ops team", "ops.team"], ["ops-team", "opsteam"], id="spaces-and-dots"),
        pytest.param(["!!!"], ["workspace"], id="nothing-left-of-the-name"),
        pytest.param(["x" * 150], ["x" * 46], id="long-name-cut"),
    ],
)
def test_slugs_are_unique_and_readable(names: list[str], slugs: list[str]) -> None:
    made = []
    for name in names:
        slug = unique_slug(name)
        Workspace.objects.create(name=name[:100], slug=slug)
        made.append(slug)
    assert made == slugs


def test_a_new_key_belongs_to_its_owners_personal_workspace_and_so_do_its_events(user: Any, make_key: Any) -> None:
    key, _ = make_key(user)
    workspace = Workspace.objects.get(personal_for=user)
    assert key.workspace_id == workspace.pk
    assert list(AuditEvent.objects.values_list("workspace_id", flat=True)) == [workspace.pk]


def test_a_key_can_be_created_into_a_given_workspace(user: Any, make_key: Any) -> None:
    team = Workspace.objects.create(name="Ops", slug="ops")
    Membership.objects.create(workspace=team, user=user, role="developer")
    key, _ = make_key(user, workspace_id=team.pk, scopes=["keys:read"])
    assert key.workspace_id == team.pk
    assert not Workspace.objects.filter(personal_for=user).exists(), "no personal workspace was needed"


def test_users_of_any_name_get_one(db: Any) -> None:
    users = get_user_model().objects
    first, second = users.create_user("dana"), users.create_user("Dana")
    assert personal_workspace_for(user_id=first.pk).slug == "dana"
    assert personal_workspace_for(user_id=second.pk).slug == "dana-2"


def test_the_key_cache_knows_the_keys_workspace(user: Any, make_key: Any, cache_mode: dict[str, str]) -> None:
    from apikeys import keycache

    team = Workspace.objects.create(name="Ops", slug="ops")
    Membership.objects.create(workspace=team, user=user, role="developer")
    key, _ = make_key(user, workspace_id=team.pk, scopes=["keys:read"])
    for _ in range(2):  # read from the database, then from the cache in use
        record = keycache.get_record(key.prefix)
        assert record is not None and record.workspace_id == team.pk


def test_a_long_username_gets_a_personal_workspace_whose_name_fits(db: Any, make_key: Any) -> None:
    long_user = get_user_model().objects.create_user("u" * 150)
    key, _ = make_key(long_user)
    workspace = Workspace.objects.get(personal_for=long_user)
    assert workspace.name == "u" * 88 + "'s workspace" and len(workspace.name) == 100
    assert key.workspace_id == workspace.pk
