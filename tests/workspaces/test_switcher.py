"""The current workspace in the browser: the switcher, New workspace, and what a session sees."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apikeys.models import ApiKey
from workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def team(user: Any, other_user: Any, make_key: Any) -> Workspace:
    workspace = Workspace.objects.create(name="Payments team", slug="payments")
    Membership.objects.create(workspace=workspace, user=other_user, role="owner")
    Membership.objects.create(workspace=workspace, user=user, role="viewer")
    make_key(other_user, name="shared payroll key", workspace_id=workspace.pk)
    make_key(other_user, name="mallory's private key")
    return workspace


def test_the_header_lists_the_users_workspaces_with_the_current_one_selected(user: Any, team: Workspace) -> None:
    html = signed_in(user).get("/settings/developer/").content.decode()
    assert '<label for="workspace-select">Workspace</label>' in html
    assert '<option value="alice" selected>alice&#x27;s workspace (owner)</option>' in html
    assert '<option value="payments">Payments team (viewer)</option>' in html
    assert 'href="/settings/workspace/new/"' in html and "New workspace" in html


def test_switching_shows_that_workspaces_keys_and_nothing_else(user: Any, team: Workspace, make_key: Any) -> None:
    make_key(user, name="alice's own key")
    client = signed_in(user)
    assert "alice&#x27;s own key" in client.get("/settings/developer/").content.decode()
    response = client.post("/settings/workspace/", {"workspace": "payments", "next": "/settings/developer/logs/"})
    assert response.status_code == 302 and response["Location"] == "/settings/developer/logs/"
    html = client.get("/settings/developer/").content.decode()
    assert "shared payroll key" in html
    assert "alice&#x27;s own key" not in html and "mallory&#x27;s private key" not in html
    assert [key["name"] for key in client.get("/api/v1/keys").json()] == ["shared payroll key"]
    assert client.get("/api/v1/workspace").json()["slug"] == "payments"


@pytest.mark.parametrize("slug", ["mallory", "no-such-workspace", ""])
def test_switching_to_a_workspace_one_is_not_in_is_404_and_changes_nothing(
    user: Any, team: Workspace, slug: str
) -> None:
    client = signed_in(user)
    assert client.post("/settings/workspace/", {"workspace": slug}).status_code == 404
    assert client.session.get("workspace") is None


def test_switching_needs_a_post_with_csrf(user: Any, team: Workspace) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/settings/workspace/").status_code == 405
    assert client.post("/settings/workspace/", {"workspace": "payments"}).status_code == 403
    assert client.session.get("workspace") is None


def test_an_outside_next_address_is_not_followed(user: Any, team: Workspace) -> None:
    response = signed_in(user).post("/settings/workspace/", {"workspace": "payments", "next": "https://evil.test/"})
    assert response["Location"] == "/settings/developer/"


def test_a_removed_member_falls_back_to_their_personal_workspace(user: Any, team: Workspace) -> None:
    client = signed_in(user)
    client.post("/settings/workspace/", {"workspace": "payments"})
    Membership.objects.filter(workspace=team, user=user).delete()
    html = client.get("/settings/developer/").content.decode()
    assert "shared payroll key" not in html
    assert client.get("/api/v1/workspace").json()["slug"] == "alice"


def test_new_workspace_makes_the_user_its_owner_and_switches_to_it(user: Any) -> None:
    client = signed_in(user)
    form = client.get("/settings/workspace/new/").content.decode()
    assert '<label for="id_name">Name</label>' in form
    response = client.post("/settings/workspace/new/", {"name": "Data platform", "slug": ""})
    assert response.status_code == 302
    workspace = Workspace.objects.get(name="Data platform")
    assert workspace.slug == "data-platform"
    assert Membership.objects.get(workspace=workspace, user=user).role == "owner"
    assert client.session["workspace"] == "data-platform"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "slug": ""}, "This field is required."),
        ({"name": "Ops", "slug": "alice"}, "The slug alice is taken."),
        ({"name": "Ops", "slug": "Not A Slug"}, "Use 1 to 50 lower-case letters"),
        ({"name": "x" * 1000, "slug": ""}, "at most 100 characters"),
    ],
    ids=["empty", "taken", "bad-slug", "too-long"],
)
def test_new_workspace_errors_are_shown_and_nothing_is_made(user: Any, data: dict[str, str], message: str) -> None:
    client = signed_in(user)
    client.get("/settings/developer/")  # makes the personal workspace "alice"
    count = Workspace.objects.count()
    response = client.post("/settings/workspace/new/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Workspace.objects.count() == count


def test_new_workspace_fields_name_their_hint_and_error(user: Any) -> None:
    html = signed_in(user).post("/settings/workspace/new/", {"name": "", "slug": ""}).content.decode()
    assert '<p class="field-error" id="id_name_error">This field is required.</p>' in html
    assert 'aria-describedby="id_name_error"' in html
    assert '<label for="id_slug">Slug <span class="muted">(optional)</span></label>' in html
    assert 'id="id_slug_helptext"' in html and 'aria-describedby="id_slug_helptext"' in html


def test_deleting_a_user_deletes_the_workspaces_only_they_belong_to(
    user: Any, other_user: Any, team: Workspace
) -> None:
    shared = ApiKey.objects.get(name="shared payroll key")
    private = ApiKey.objects.get(name="mallory's private key")
    other_user.delete()
    assert not ApiKey.objects.filter(pk=private.pk).exists(), "their personal workspace went with them"
    assert ApiKey.objects.filter(pk=shared.pk).exists(), "the shared workspace keeps its keys"
    assert Workspace.objects.filter(pk=team.pk).exists()
    assert ApiKey.objects.get(pk=shared.pk).created_by is None


def test_a_key_whose_creator_was_deleted_keeps_working(
    user: Any, other_user: Any, team: Workspace, make_key: Any, api: Any
) -> None:
    _, secret = make_key(other_user, name="integration", workspace_id=team.pk)
    other_user.delete()
    response = api(secret).get("/api/v1/keys")
    assert response.status_code == 200
    assert {item["name"] for item in response.json()} == {"shared payroll key", "integration"}
    assert {item["created_by"] for item in response.json()} == {None}


def test_a_key_whose_creator_is_deactivated_stops(
    user: Any, other_user: Any, team: Workspace, make_key: Any, api: Any
) -> None:
    _, secret = make_key(other_user, name="integration", workspace_id=team.pk)
    get_user_model().objects.filter(pk=other_user.pk).update(is_active=False)
    assert api(secret).get("/api/v1/keys").status_code == 401


def test_a_key_of_another_of_my_workspaces_is_404_until_i_switch_to_it(user: Any, team: Workspace) -> None:
    shared = ApiKey.objects.get(name="shared payroll key")
    client = signed_in(user)
    assert client.get(f"/api/v1/keys/{shared.pk}").json()["error"]["code"] == "NOT_FOUND"
    assert client.get(f"/settings/developer/keys/{shared.pk}/allowlist/").status_code == 404
    client.post("/settings/workspace/", {"workspace": "payments"})
    assert client.get(f"/api/v1/keys/{shared.pk}").json()["name"] == "shared payroll key"
    assert client.get(f"/settings/developer/keys/{shared.pk}/allowlist/").status_code == 200
