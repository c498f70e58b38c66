"""Adding members, changing roles and removing them: the rules, the codes and the audit trail."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.http import Http404

from apikeys.models import AuditEvent
from workspaces import members
from workspaces.access import Actor, RoleDenied
from workspaces.models import Membership, Role, Workspace
from workspaces.services import personal_workspace_for, workspace_create

pytestmark = pytest.mark.django_db


def make_user(username: str, email: str = "") -> Any:
    return get_user_model().objects.create_user(username, email or f"{username}@example.com", "a-long-passphrase")


@pytest.fixture
def team(user: Any) -> Workspace:
    """Acme, owned by alice."""
    return workspace_create(owner_id=user.pk, name="Acme")


def join(workspace: Workspace, username: str, role: str) -> Membership:
    return Membership.objects.create(workspace=workspace, user=make_user(username), role=role)


def codes(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return {field: [error.code for error in errors] for field, errors in exc.value.error_dict.items()}


def as_user(membership_or_user: Any) -> Actor:
    user_id = getattr(membership_or_user, "user_id", None) or membership_or_user.pk
    return Actor(user_id=user_id, ip="203.0.113.9")


# --- adding ---------------------------------------------------------------------------------------------


def test_an_owner_adds_a_user_by_username(team: Workspace, user: Any) -> None:
    bob = make_user("bob")
    membership = members.member_add(workspace_id=team.pk, actor=as_user(user), user="bob", role="viewer")
    assert (membership.user_id, membership.role) == (bob.pk, Role.VIEWER)


@pytest.mark.parametrize("text", ["Bob@Example.COM", "  bob@example.com  "], ids=["other-case", "spaces"])
def test_an_e_mail_names_its_user_in_any_case(team: Workspace, user: Any, text: str) -> None:
    bob = make_user("bob", "bob@example.com")
    membership = members.member_add(workspace_id=team.pk, actor=as_user(user), user=text, role="developer")
    assert membership.user_id == bob.pk


@pytest.mark.parametrize(
    "text",
    ["nobody", "nobody@example.com", "", "   ", None, 42, "x" * 300, "BOB"],
    ids=["unknown-name", "unknown-email", "empty", "blank", "null", "number", "too-long", "username-other-case"],
)
def test_an_unknown_user_is_user_not_found(team: Workspace, user: Any, text: Any) -> None:
    make_user("bob")
    with pytest.raises(ValidationError) as exc:
        members.member_add(workspace_id=team.pk, actor=as_user(user), user=text, role="viewer")
    assert codes(exc) == {"user": [members.USER_NOT_FOUND]}
    assert not Membership.objects.filter(workspace=team, user__username="bob").exists()


def test_a_deactivated_user_cannot_be_added(team: Workspace, user: Any) -> None:
    bob = make_user("bob")
    bob.is_active = False
    bob.save()
    with pytest.raises(ValidationError) as exc:
        members.member_add(workspace_id=team.pk, actor=as_user(user), user="bob", role="viewer")
    assert codes(exc) == {"user": [members.USER_NOT_FOUND]}


def test_an_e_mail_two_users_share_asks_for_the_username(team: Workspace, user: Any) -> None:
    make_user("bob", "shared@example.com")
    make_user("carol", "SHARED@example.com")
    with pytest.raises(ValidationError) as exc:
        members.member_add(workspace_id=team.pk, actor=as_user(user), user="shared@example.com", role="viewer")
    assert codes(exc) == {"user": [members.USER_NOT_FOUND]}
    members.member_add(workspace_id=team.pk, actor=as_user(user), user="carol", role="viewer")


def test_a_member_cannot_be_added_twice(team: Workspace, user: Any) -> None:
    join(team, "bob", Role.VIEWER)
    with pytest.raises(ValidationError) as exc:
        members.member_add(workspace_id=team.pk, actor=as_user(user), user="bob@example.com", role="admin")
    assert codes(exc) == {"user": [members.ALREADY_MEMBER]}
    assert Membership.objects.get(workspace=team, user__username="bob").role == Role.VIEWER


@pytest.mark.parametrize("role", ["superuser", "Owner", "", None, 3, ["admin"]])
def test_an_unknown_role_is_invalid_role(team: Workspace, user: Any, role: Any) -> None:
    make_user("bob")
    with pytest.raises(ValidationError) as exc:
        members.member_add(workspace_id=team.pk, actor=as_user(user), user="bob", role=role)
    assert codes(exc) == {"role": [members.INVALID_ROLE]}


# --- who may do what -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER], ids=str)
def test_viewers_and_developers_cannot_add_members(team: Workspace, role: str) -> None:
    actor = join(team, "dana", role)
    make_user("bob")
    with pytest.raises(RoleDenied):
        members.member_add(workspace_id=team.pk, actor=as_user(actor), user="bob", role="viewer")
    assert not Membership.objects.filter(workspace=team, user__username="bob").exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER], ids=str)
def test_viewers_and_developers_cannot_change_or_remove_members(team: Workspace, role: str) -> None:
    actor, bob = join(team, "dana", role), join(team, "bob", Role.VIEWER)
    with pytest.raises(RoleDenied):
        members.member_change_role(membership=bob, actor=as_user(actor), role="developer")
    with pytest.raises(RoleDenied):
        members.member_remove(membership=bob, actor=as_user(actor))
    with pytest.raises(RoleDenied):
        members.member_change_role(membership=actor, actor=as_user(actor), role="admin")


def test_a_non_member_cannot_manage_members(team: Workspace, other_user: Any) -> None:
    bob = join(team, "bob", Role.VIEWER)
    with pytest.raises(RoleDenied):
        members.member_remove(membership=bob, actor=as_user(other_user))


def test_an_admin_manages_members_below_owner(team: Workspace) -> None:
    admin = join(team, "erin", Role.ADMIN)
    make_user("bob")
    bob = members.member_add(workspace_id=team.pk, actor=as_user(admin), user="bob", role="developer")
    bob = members.member_change_role(membership=bob, actor=as_user(admin), role="admin")
    assert bob.role == Role.ADMIN
    members.member_remove(membership=bob, actor=as_user(admin))
    assert not Membership.objects.filter(pk=bob.pk).exists()


def test_an_admin_cannot_add_promote_change_or_remove_an_owner(team: Workspace, user: Any) -> None:
    admin, bob = join(team, "erin", Role.ADMIN), join(team, "bob", Role.VIEWER)
    owner = Membership.objects.get(workspace=team, user=user)
    make_user("carol")
    with pytest.raises(RoleDenied):
        members.member_add(workspace_id=team.pk, actor=as_user(admin), user="carol", role="owner")
    with pytest.raises(RoleDenied):
        members.member_change_role(membership=bob, actor=as_user(admin), role="owner")
    with pytest.raises(RoleDenied):
        members.member_change_role(membership=admin, actor=as_user(admin), role="owner")
    with pytest.raises(RoleDenied):
        members.member_change_role(membership=owner, actor=as_user(admin), role="viewer")
    with pytest.raises(RoleDenied):
        members.member_remove(membership=owner, actor=as_user(admin))
    assert dict(Membership.objects.filter(workspace=team).values_list("user__username", "role")) == {
        "alice": "owner",
        "erin": "admin",
        "bob": "viewer",
    }


def test_an_owner_adds_promotes_demotes_and_removes_owners(team: Workspace, user: Any) -> None:
    make_user("bob")
    bob = members.member_add(workspace_id=team.pk, actor=as_user(user), user="bob", role="owner")
    carol = join(team, "carol", Role.ADMIN)
    carol = members.member_change_role(membership=carol, actor=as_user(user), role="owner")
    bob = members.member_change_role(membership=bob, actor=as_user(user), role="developer")
    members.member_remove(membership=carol, actor=as_user(user))
    assert dict(Membership.objects.filter(workspace=team).values_list("user__username", "role")) == {
        "alice": "owner",
        "bob": "developer",
    }


def test_the_current_role_decides_not_the_one_the_caller_loaded(team: Workspace) -> None:
    """A member made owner a moment ago is an owner's to change, even if an admin's page still shows admin."""
    admin, bob = join(team, "erin", Role.ADMIN), join(team, "bob", Role.ADMIN)
    Membership.objects.filter(pk=bob.pk).update(role=Role.OWNER)
    with pytest.raises(RoleDenied):
        members.member_change_role(membership=bob, actor=as_user(admin), role="viewer")
    with pytest.raises(RoleDenied):
        members.member_remove(membership=bob, actor=as_user(admin))


def test_a_member_removed_a_moment_ago_is_not_found(team: Workspace, user: Any) -> None:
    bob = join(team, "bob", Role.VIEWER)
    Membership.objects.filter(pk=bob.pk).delete()
    with pytest.raises(Http404):
        members.member_change_role(membership=bob, actor=as_user(user), role="admin")


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [({"members:read", "members:write"}, True), ({"members:read", "keys:write"}, False)],
    ids=["members-write-is-admin", "without-it-developer"],
)
def test_a_key_acts_as_admin_only_with_an_admin_scope(team: Workspace, user: Any, scopes: set, allowed: bool) -> None:
    make_user("bob")
    actor = Actor(key_scopes=frozenset(scopes), key_workspace_id=team.pk, key_user_id=user.pk)
    if allowed:
        members.member_add(workspace_id=team.pk, actor=actor, user="bob", role="admin")
        with pytest.raises(RoleDenied):  # an admin, never an owner
            members.member_change_role(
                membership=Membership.objects.get(workspace=team, user=user), actor=actor, role="admin"
            )
    else:
        with pytest.raises(RoleDenied):
            members.member_add(workspace_id=team.pk, actor=actor, user="bob", role="viewer")


def test_a_key_of_another_workspace_manages_nobody_here(team: Workspace, user: Any) -> None:
    bob = join(team, "bob", Role.VIEWER)
    elsewhere = personal_workspace_for(user_id=user.pk)
    actor = Actor(key_scopes=frozenset({"members:write"}), key_workspace_id=elsewhere.pk, key_user_id=user.pk)
    with pytest.raises(RoleDenied):
        members.member_remove(membership=bob, actor=actor)


# --- the last owner -------------------------------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted_even_by_themselves(team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    with pytest.raises(ValidationError) as exc:
        members.member_change_role(membership=owner, actor=as_user(user), role="admin")
    assert codes(exc) == {"role": [members.LAST_OWNER]}
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_the_last_owner_cannot_be_removed_even_by_themselves(team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    with pytest.raises(ValidationError) as exc:
        members.member_remove(membership=owner, actor=as_user(user))
    assert codes(exc) == {"member": [members.LAST_OWNER]}
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_an_owner_may_leave_when_another_owner_stays(team: Workspace, user: Any) -> None:
    join(team, "bob", Role.OWNER)
    owner = Membership.objects.get(workspace=team, user=user)
    members.member_remove(membership=owner, actor=as_user(user))
    assert list(Membership.objects.filter(workspace=team).values_list("user__username", flat=True)) == ["bob"]


def test_a_personal_workspace_keeps_its_user_as_owner(user: Any) -> None:
    personal = personal_workspace_for(user_id=user.pk)
    bob = join(personal, "bob", Role.OWNER)
    mine = Membership.objects.get(workspace=personal, user=user)
    with pytest.raises(ValidationError) as exc:
        members.member_remove(membership=mine, actor=as_user(bob))
    assert codes(exc) == {"member": [members.PERSONAL_OWNER]}
    with pytest.raises(ValidationError) as exc:
        members.member_change_role(membership=mine, actor=as_user(bob), role="viewer")
    assert codes(exc) == {"role": [members.PERSONAL_OWNER]}
    members.member_change_role(membership=bob, actor=as_user(user), role="viewer")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite runs one write transaction at a time (BEGIN IMMEDIATE): there is no race to lose there",
)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(user: Any) -> None:
    team = workspace_create(owner_id=user.pk, name="Acme")
    bob = join(team, "bob", Role.OWNER)
    alice = Membership.objects.get(workspace=team, user=user)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(membership: Membership) -> None:
        try:
            barrier.wait()
            members.member_change_role(membership=membership, actor=as_user(membership), role="admin")
            outcomes.append("demoted")
        except ValidationError as exc:
            outcomes.append(exc.error_dict["role"][0].code or "")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["LAST_OWNER", "demoted"]
    assert Membership.objects.filter(workspace=team, role=Role.OWNER).count() == 1


# --- the audit trail ------------------------------------------------------------------------------------


def test_every_change_is_an_audit_event_of_the_workspace(team: Workspace, user: Any) -> None:
    make_user("bob")
    actor = as_user(user)
    bob = members.member_add(workspace_id=team.pk, actor=actor, user="bob", role="viewer")
    members.member_change_role(membership=bob, actor=actor, role="developer")
    members.member_change_role(membership=bob, actor=actor, role="developer")  # no change, no event
    members.member_remove(membership=bob, actor=actor)
    events = list(AuditEvent.objects.filter(workspace=team).order_by("created_at", "id"))
    assert [(e.action, e.before, e.after) for e in events] == [
        ("member.added", None, {"user": "bob", "role": "viewer"}),
        ("member.role_changed", {"user": "bob", "role": "viewer"}, {"user": "bob", "role": "developer"}),
        ("member.removed", {"user": "bob", "role": "developer"}, None),
    ]
    assert {(e.api_key_id, e.actor_user_id, e.actor_key_id, e.client_ip) for e in events} == {
        (None, user.pk, None, "203.0.113.9")
    }


def test_a_refused_change_writes_no_event(team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    with pytest.raises(ValidationError):
        members.member_remove(membership=owner, actor=as_user(user))
    assert not AuditEvent.objects.filter(workspace=team).exists()


def test_the_change_and_its_event_stand_or_fall_together(team: Workspace, user: Any, monkeypatch: Any) -> None:
    bob = join(team, "bob", Role.VIEWER)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(AuditEvent.objects, "create", broken)
    with pytest.raises(RuntimeError):
        members.member_change_role(membership=bob, actor=as_user(user), role="admin")
    bob.refresh_from_db()
    assert bob.role == Role.VIEWER


def test_a_key_is_recorded_as_the_actor(team: Workspace, user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="members bot", scopes=["members:read", "members:write"], workspace_id=team.pk)
    actor = Actor(key_id=key.pk, key_scopes=frozenset(key.scopes), key_workspace_id=team.pk, key_user_id=user.pk)
    make_user("bob")
    members.member_add(workspace_id=team.pk, actor=actor, user="bob", role="viewer")
    event = AuditEvent.objects.get(workspace=team, action="member.added")
    assert (event.actor_key_id, event.actor_user_id, event.api_key_id) == (key.pk, None, None)


# --- what the page offers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "roles"),
    [
        (Role.VIEWER, []),
        (Role.DEVELOPER, []),
        (Role.ADMIN, ["viewer", "developer", "admin"]),
        (Role.OWNER, ["viewer", "developer", "admin", "owner"]),
        (None, []),
    ],
    ids=["viewer", "developer", "admin", "owner", "not-a-member"],
)
def test_assignable_roles(role: Any, roles: list[str]) -> None:
    assert [str(choice) for choice in members.assignable_roles(role)] == roles
