"""Settings > Members: the list, the controls each role sees, and the refusals behind them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey, AuditEvent
from workspaces.current import SESSION_KEY
from workspaces.models import Membership, Role, Workspace
from workspaces.services import personal_workspace_for, workspace_create

pytestmark = pytest.mark.django_db
PAGE = "/settings/members/"


def make_user(username: str) -> Any:
    return get_user_model().objects.create_user(username, f"{username}@example.com", "a-long-passphrase")


@pytest.fixture
def team(user: Any) -> Workspace:
    """Acme: alice owns it."""
    return workspace_create(owner_id=user.pk, name="Acme")


def join(workspace: Workspace, username: str, role: str) -> Membership:
    return Membership.objects.create(workspace=workspace, user=make_user(username), role=role)


def browser(user: Any, workspace: Workspace, *, csrf: bool = False) -> Client:
    """A signed-in browser whose current workspace is ``workspace``."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = workspace.slug
    session.save()
    return client


def text(response: Any) -> str:
    return response.content.decode()


def refused(response: Any) -> bool:
    return response.status_code == 403 and "INSUFFICIENT_ROLE" in text(response)


# --- what each role sees --------------------------------------------------------------------------------


def test_an_owner_sees_every_member_and_every_control(team: Workspace, user: Any) -> None:
    join(team, "bob", Role.VIEWER)
    page = text(browser(user, team).get(PAGE))
    assert "<h1>Members</h1>" in page
    assert 'aria-current="page">Members</a>' in page
    for expected in ("alice", "bob", "bob@example.com", "Add member", "Username or e-mail", "Change role", "Remove"):
        assert expected in page
    assert '<option value="owner"' in page


def test_a_viewer_sees_the_list_without_controls(team: Workspace) -> None:
    viewer = join(team, "bob", Role.VIEWER)
    response = browser(viewer.user, team).get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "alice@example.com" in page and "Owner" in page
    for control in ("Add member", "Change role", "Remove", "<select"):
        assert control not in page.split("</header>", 1)[1]


def test_an_admin_gets_no_controls_on_owners_and_cannot_give_owner(team: Workspace) -> None:
    admin = join(team, "erin", Role.ADMIN)
    join(team, "bob", Role.VIEWER)
    owner = Membership.objects.get(workspace=team, role=Role.OWNER)
    page = text(browser(admin.user, team).get(PAGE))
    assert "Add member" in page and "Change role" in page
    assert f"/settings/members/{owner.pk}/" not in page
    assert '<option value="owner"' not in page


# --- adding ---------------------------------------------------------------------------------------------


def test_an_owner_adds_a_member(team: Workspace, user: Any) -> None:
    make_user("bob")
    response = browser(user, team).post("/settings/members/add/", {"user": "BOB@example.com", "role": "developer"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert Membership.objects.get(workspace=team, user__username="bob").role == Role.DEVELOPER
    assert AuditEvent.objects.filter(workspace=team, action="member.added", actor_user=user).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"user": "nobody", "role": "viewer"}, "No user has this username or e-mail."),
        ({"user": "alice", "role": "viewer"}, "alice is already a member of this workspace."),
        ({"user": "bob", "role": "root"}, "Choose viewer, developer, admin or owner."),
        ({"user": "", "role": "viewer"}, "This field is required."),
    ],
    ids=["unknown-user", "already-member", "unknown-role", "blank"],
)
def test_a_refused_add_shows_why_beside_the_field_and_keeps_the_input(
    team: Workspace, user: Any, data: dict[str, str], message: str
) -> None:
    make_user("bob")
    response = browser(user, team).post("/settings/members/add/", data)
    assert response.status_code == 200
    page = text(response)
    assert message.replace("'", "&#x27;") in page
    assert f'value="{data["user"]}"' in page or not data["user"]
    assert Membership.objects.filter(workspace=team).count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER], ids=str)
def test_viewers_and_developers_are_refused_adding(team: Workspace, role: str) -> None:
    member = join(team, "dana", role)
    make_user("bob")
    assert refused(browser(member.user, team).post("/settings/members/add/", {"user": "bob", "role": "viewer"}))
    assert not Membership.objects.filter(workspace=team, user__username="bob").exists()


def test_an_admin_is_refused_adding_an_owner(team: Workspace) -> None:
    admin = join(team, "erin", Role.ADMIN)
    make_user("bob")
    assert refused(browser(admin.user, team).post("/settings/members/add/", {"user": "bob", "role": "owner"}))


def test_every_post_needs_its_csrf_token(team: Workspace, user: Any) -> None:
    bob = join(team, "bob", Role.VIEWER)
    client = browser(user, team, csrf=True)
    assert client.post("/settings/members/add/", {"user": "bob", "role": "viewer"}).status_code == 403
    assert client.post(f"/settings/members/{bob.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post(f"/settings/members/{bob.pk}/remove/").status_code == 403
    page = text(client.get(PAGE))
    assert page.count('name="csrfmiddlewaretoken"') >= 4  # sign out, switcher, add, the row's role form


# --- changing roles -------------------------------------------------------------------------------------


def test_an_owner_changes_a_role(team: Workspace, user: Any) -> None:
    bob = join(team, "bob", Role.VIEWER)
    client = browser(user, team)
    response = client.post(f"/settings/members/{bob.pk}/role/", {"role": "developer"}, follow=True)
    assert "bob is now developer." in text(response)
    bob.refresh_from_db()
    assert bob.role == Role.DEVELOPER


def test_the_last_owner_is_told_why_they_cannot_step_down(team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    response = browser(user, team).post(f"/settings/members/{owner.pk}/role/", {"role": "viewer"}, follow=True)
    assert "must keep at least one owner" in text(response)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_refused_role_changes(team: Workspace) -> None:
    developer, bob = join(team, "dana", Role.DEVELOPER), join(team, "bob", Role.VIEWER)
    admin = join(team, "erin", Role.ADMIN)
    owner = Membership.objects.get(workspace=team, role=Role.OWNER)
    assert refused(browser(developer.user, team).post(f"/settings/members/{bob.pk}/role/", {"role": "admin"}))
    assert refused(browser(admin.user, team).post(f"/settings/members/{owner.pk}/role/", {"role": "viewer"}))
    assert refused(browser(admin.user, team).post(f"/settings/members/{bob.pk}/role/", {"role": "owner"}))
    assert dict(Membership.objects.filter(workspace=team).values_list("user__username", "role")) == {
        "alice": "owner",
        "dana": "developer",
        "bob": "viewer",
        "erin": "admin",
    }


# --- removing -------------------------------------------------------------------------------------------


@pytest.fixture
def bob_with_keys(team: Workspace, user: Any, make_key: Any) -> tuple[Membership, dict[str, ApiKey]]:
    """bob, a developer of Acme, with keys in several states; alice's own key beside them."""
    bob = join(team, "bob", Role.DEVELOPER)
    keys = {
        name: make_key(bob.user, name=name, scopes=["keys:read"], workspace_id=team.pk)[0]
        for name in ("bob-deploy", "bob-ci", "bob-revoked", "bob-expired")
    }
    ApiKey.objects.filter(pk=keys["bob-revoked"].pk).update(revoked_at=timezone.now())
    ApiKey.objects.filter(pk=keys["bob-expired"].pk).update(expires_at=timezone.now() - timedelta(days=1))
    make_key(user, name="alice-key", scopes=["keys:read"], workspace_id=team.pk)
    make_key(bob.user, name="bob-personal", scopes=["keys:read"])  # in bob's personal workspace
    return bob, keys


def test_the_removal_page_lists_the_active_keys_the_member_created(
    team: Workspace, user: Any, bob_with_keys: Any
) -> None:
    bob, keys = bob_with_keys
    page = text(browser(user, team).get(f"/settings/members/{bob.pk}/remove/"))
    assert "Remove bob from Acme?" in page
    for name in ("bob-deploy", "bob-ci"):
        assert name in page
        assert f"/settings/members/{bob.pk}/keys/{keys[name].pk}/revoke/" in page
    for name in ("bob-revoked", "bob-expired", "alice-key", "bob-personal"):
        assert name not in page
    assert "Remove member" in page


def test_revoke_from_the_removal_page_then_remove(team: Workspace, user: Any, bob_with_keys: Any) -> None:
    bob, keys = bob_with_keys
    client = browser(user, team)
    response = client.post(f"/settings/members/{bob.pk}/keys/{keys['bob-ci'].pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == f"/settings/members/{bob.pk}/remove/"
    assert ApiKey.objects.get(pk=keys["bob-ci"].pk).revoked_at is not None
    assert ApiKey.objects.get(pk=keys["bob-deploy"].pk).revoked_at is None
    page = text(client.get(f"/settings/members/{bob.pk}/remove/"))
    assert "bob-ci was revoked" in page
    assert f"/keys/{keys['bob-ci'].pk}/revoke/" not in page
    assert f"/keys/{keys['bob-deploy'].pk}/revoke/" in page
    response = client.post(f"/settings/members/{bob.pk}/remove/", follow=True)
    assert "bob was removed from Acme" in text(response)
    assert not Membership.objects.filter(pk=bob.pk).exists()
    assert ApiKey.objects.get(pk=keys["bob-deploy"].pk).revoked_at is None  # keys outlive membership


def test_a_key_of_someone_else_is_not_revoked_from_a_members_page(
    team: Workspace, user: Any, bob_with_keys: Any
) -> None:
    bob, _ = bob_with_keys
    alice_key = ApiKey.objects.get(name="alice-key")
    response = browser(user, team).post(f"/settings/members/{bob.pk}/keys/{alice_key.pk}/revoke/")
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=alice_key.pk).revoked_at is None


def test_the_last_owner_cannot_remove_themselves(team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    response = browser(user, team).post(f"/settings/members/{owner.pk}/remove/", follow=True)
    assert "must keep at least one owner" in text(response)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_refused_removals(team: Workspace, bob_with_keys: Any) -> None:
    bob, keys = bob_with_keys
    viewer, admin = join(team, "dana", Role.VIEWER), join(team, "erin", Role.ADMIN)
    owner = Membership.objects.get(workspace=team, role=Role.OWNER)
    assert refused(browser(viewer.user, team).get(f"/settings/members/{bob.pk}/remove/"))
    assert refused(browser(viewer.user, team).post(f"/settings/members/{bob.pk}/remove/"))
    assert refused(browser(viewer.user, team).post(f"/settings/members/{bob.pk}/keys/{keys['bob-ci'].pk}/revoke/"))
    assert refused(browser(admin.user, team).get(f"/settings/members/{owner.pk}/remove/"))
    assert refused(browser(admin.user, team).post(f"/settings/members/{owner.pk}/remove/"))
    assert Membership.objects.filter(workspace=team).count() == 4
    assert ApiKey.objects.get(pk=keys["bob-ci"].pk).revoked_at is None


def test_a_member_of_another_workspace_is_not_found(team: Workspace, user: Any, other_user: Any) -> None:
    theirs = Membership.objects.get(workspace=personal_workspace_for(user_id=other_user.pk))
    client = browser(user, team)
    assert client.get(f"/settings/members/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/settings/members/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/settings/members/{theirs.pk}/role/", {"role": "viewer"}).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk, role=Role.OWNER).exists()


def test_the_page_needs_a_signed_in_user(client: Client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
