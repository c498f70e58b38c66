"""The usage-log admin: read-only, listed and filtered by workspace; other staff than superusers
see their workspaces' rows and the rows of no workspace (SPEC §5, §8, §13)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from tests.browser.helpers import seed_log
from tests.usagelogs.helpers import personal, team_of

pytestmark = pytest.mark.django_db
URL = "/admin/usagelogs/usagelog/"


@pytest.fixture
def rows(user: Any, other_user: Any, make_key: Any) -> dict[str, Any]:
    team = team_of(other_user)
    build, _ = make_key(user, name="Build")
    team_key, _ = make_key(other_user, name="Team CI", workspace_id=team.pk)
    return {
        "personal": seed_log(user, build, path="/api/v1/personal"),
        "team": seed_log(other_user, team_key, path="/api/v1/team"),
        "nobody": seed_log(None, None, path="/api/v1/nobody", status=401, decision="none"),
        "team_workspace": team,
    }


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser() -> Client:
    return signed_in(get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password"))


@pytest.fixture
def staff_member() -> Any:
    """Staff allowed to view usage logs, a member of the team workspace only."""
    staff = get_user_model().objects.create_user("ops", "ops@example.com", "a-long-staff-password", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_usagelog"))
    return staff


def paths(response: Any) -> set[str]:
    assert response.status_code == 200
    return {row.path for row in response.context["cl"].result_list}


def test_a_superuser_sees_every_row_with_its_workspace(superuser: Client, rows: dict[str, Any]) -> None:
    response = superuser.get(URL)
    assert paths(response) == {"/api/v1/personal", "/api/v1/team", "/api/v1/nobody"}
    assert "Platform" in response.content.decode()


@pytest.mark.parametrize(
    ("workspace", "expected"),
    [
        pytest.param("team", {"/api/v1/team"}, id="a-team-workspace"),
        pytest.param("personal", {"/api/v1/personal"}, id="a-personal-workspace"),
        pytest.param("null", {"/api/v1/nobody"}, id="no-workspace"),
    ],
)
def test_rows_are_filtered_by_workspace(
    superuser: Client, user: Any, rows: dict[str, Any], workspace: str, expected: set[str]
) -> None:
    value = {"team": rows["team_workspace"].pk, "personal": personal(user).pk}.get(workspace, workspace)
    assert paths(superuser.get(URL, {"workspace": value})) == expected


def test_the_admin_stays_read_only(superuser: Client, rows: dict[str, Any]) -> None:
    assert superuser.get(f"{URL}add/").status_code == 403
    change = superuser.post(f"{URL}{rows['team'].pk}/change/", {"status_code": 500})
    assert change.status_code == 403
    assert superuser.post(f"{URL}{rows['team'].pk}/delete/", {"post": "yes"}).status_code == 403


def test_other_staff_see_their_workspaces_rows_and_those_of_no_workspace(
    staff_member: Any, rows: dict[str, Any]
) -> None:
    client = signed_in(staff_member)
    assert paths(client.get(URL)) == {"/api/v1/nobody"}

    team_of(staff_member, name="Ops")  # a workspace of their own has no rows yet
    rows["team_workspace"].memberships.create(user=staff_member, role="viewer")
    response = client.get(URL)
    assert paths(response) == {"/api/v1/team", "/api/v1/nobody"}
    html = response.content.decode()
    assert "Team CI (" in html and "Build (" not in html
    assert paths(client.get(URL, {"api_key": rows["personal"].api_key_id})) == set()
