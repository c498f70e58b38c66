"""GET /workspace and the members endpoints (SPEC §13): scopes, roles, codes and the schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apikeys.models import AuditEvent
from workspaces.current import SESSION_KEY
from workspaces.models import Membership, Role, Workspace
from workspaces.services import personal_workspace_for, workspace_create

pytestmark = pytest.mark.django_db
READ, WRITE = ["members:read"], ["members:read", "members:write"]


def make_user(username: str, email: str = "") -> Any:
    return get_user_model().objects.create_user(username, email or f"{username}@example.com", "a-long-passphrase")


@pytest.fixture
def team(user: Any) -> Workspace:
    """Acme: alice owns it."""
    return workspace_create(owner_id=user.pk, name="Acme")


@pytest.fixture
def key_client(team: Workspace, user: Any, make_key: Any, api: Any) -> Any:
    """A client with a key of Acme holding the given scopes (alice, its owner, created it)."""

    def client(scopes: list[str]) -> APIClient:
        _, secret = make_key(user, name="members bot", scopes=scopes, workspace_id=team.pk)
        return api(secret)

    return client


@pytest.fixture
def session_client(team: Workspace) -> Any:
    """A browser session of ``user`` whose current workspace is Acme."""

    def client(user: Any, *, csrf: bool = False) -> APIClient:
        c = APIClient(enforce_csrf_checks=csrf)
        c.force_login(user)
        session = c.session
        session[SESSION_KEY] = team.slug
        session.save()
        return c

    return client


def join(workspace: Workspace, username: str, role: str) -> Membership:
    return Membership.objects.create(workspace=workspace, user=make_user(username), role=role)


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    code: str = response.json()["error"]["code"]
    return code


def fields(response: Any) -> dict[str, list[str]]:
    assert error(response, 400) == "VALIDATION_ERROR"
    return {path: [e["code"] for e in errors] for path, errors in response.json()["error"]["fields"].items()}


# --- GET /workspace -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "role"), [(WRITE, "admin"), (["keys:read"], "developer"), ([], "developer")], ids=str
)
def test_a_key_sees_its_workspace_and_the_role_it_acts_with(
    key_client: Any, team: Workspace, scopes: list[str], role: str
) -> None:
    response = key_client(scopes).get("/api/v1/workspace")
    assert response.status_code == 200
    assert response.json() == {"id": str(team.pk), "name": "Acme", "slug": team.slug, "role": role}


def test_a_session_sees_its_current_workspace_and_its_role(session_client: Any, team: Workspace) -> None:
    viewer = join(team, "bob", Role.VIEWER)
    body = session_client(viewer.user).get("/api/v1/workspace/").json()
    assert (body["slug"], body["role"]) == (team.slug, "viewer")


def test_the_workspace_needs_a_caller(api: Any) -> None:
    assert error(api().get("/api/v1/workspace"), 401) == "NOT_AUTHENTICATED"


# --- listing --------------------------------------------------------------------------------------------


def test_members_are_listed_with_their_user_and_role(key_client: Any, team: Workspace, user: Any) -> None:
    bob = join(team, "bob", Role.DEVELOPER)
    personal_workspace_for(user_id=make_user("zed").pk)  # a member elsewhere only
    response = key_client(READ).get("/api/v1/members")
    assert response.status_code == 200
    alice = Membership.objects.get(workspace=team, user=user)
    assert [{k: v for k, v in item.items() if k != "created_at"} for item in response.json()] == [
        {"id": str(alice.pk), "user": {"username": "alice", "email": "alice@example.com"}, "role": "owner"},
        {"id": str(bob.pk), "user": {"username": "bob", "email": "bob@example.com"}, "role": "developer"},
    ]
    assert all(item["created_at"] for item in response.json())
    one = key_client(READ).get(f"/api/v1/members/{bob.pk}")
    assert one.json()["user"]["username"] == "bob"


def test_a_key_without_members_read_cannot_list(key_client: Any) -> None:
    assert error(key_client(["keys:read"]).get("/api/v1/members"), 403) == "INSUFFICIENT_SCOPE"


def test_any_member_may_list_in_a_session(session_client: Any, team: Workspace) -> None:
    viewer = join(team, "bob", Role.VIEWER)
    response = session_client(viewer.user).get("/api/v1/members")
    assert [item["user"]["username"] for item in response.json()] == ["alice", "bob"]


# --- adding ---------------------------------------------------------------------------------------------


def test_a_key_holding_members_write_adds_a_member_as_an_admin(key_client: Any, team: Workspace) -> None:
    make_user("bob", "Bob@Example.com")
    response = key_client(WRITE).post("/api/v1/members", {"user": "bob@example.COM", "role": "admin"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"]["username"], body["role"]) == ("bob", "admin")
    assert Membership.objects.get(pk=body["id"]).workspace_id == team.pk
    event = AuditEvent.objects.get(workspace=team, action="member.added")
    assert event.actor_key_id is not None and event.api_key_id is None
    assert event.after == {"user": "bob", "role": "admin"}


def test_a_key_with_members_read_only_cannot_add(key_client: Any, team: Workspace) -> None:
    make_user("bob")
    response = key_client(READ).post("/api/v1/members", {"user": "bob", "role": "viewer"}, format="json")
    assert error(response, 403) == "INSUFFICIENT_SCOPE"
    assert not Membership.objects.filter(workspace=team, user__username="bob").exists()


def test_a_key_acts_as_admin_so_it_cannot_add_an_owner(key_client: Any) -> None:
    make_user("bob")
    response = key_client(WRITE).post("/api/v1/members", {"user": "bob", "role": "owner"}, format="json")
    assert error(response, 403) == "INSUFFICIENT_ROLE"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"user": "nobody", "role": "viewer"}, {"user": ["USER_NOT_FOUND"]}),
        ({"user": "nobody@example.com", "role": "viewer"}, {"user": ["USER_NOT_FOUND"]}),
        ({"user": "alice", "role": "viewer"}, {"user": ["ALREADY_MEMBER"]}),
        ({"user": "bob", "role": "root"}, {"role": ["INVALID_ROLE"]}),
        ({"user": "bob", "role": None}, {"role": ["INVALID_ROLE"]}),
        ({"user": "bob", "role": 2}, {"role": ["INVALID_ROLE"]}),
        ({"user": "bob"}, {"role": ["REQUIRED"]}),
        ({"role": "viewer"}, {"user": ["REQUIRED"]}),
        ({"user": "", "role": "viewer"}, {"user": ["BLANK"]}),
        ({"user": 7, "role": "viewer"}, {"user": ["INVALID"]}),
        ({"user": "b" * 255, "role": "viewer"}, {"user": ["MAX_LENGTH"]}),
        ({"user": "bob", "role": "viewer", "admin": True}, {"admin": ["UNKNOWN_FIELD"]}),
    ],
    ids=[
        "unknown-user",
        "unknown-email",
        "already-member",
        "unknown-role",
        "null-role",
        "number-role",
        "no-role",
        "no-user",
        "blank-user",
        "number-user",
        "long-user",
        "unknown-field",
    ],
)
def test_bad_input_to_add_names_its_field_and_code(
    session_client: Any, user: Any, body: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    make_user("bob")
    assert fields(session_client(user).post("/api/v1/members", body, format="json")) == expected


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER], ids=str)
def test_viewers_and_developers_cannot_add_in_a_session(session_client: Any, team: Workspace, role: str) -> None:
    member = join(team, "dana", role)
    make_user("bob")
    response = session_client(member.user).post("/api/v1/members", {"user": "bob", "role": "viewer"}, format="json")
    assert error(response, 403) == "INSUFFICIENT_ROLE"


def test_an_admin_session_cannot_add_an_owner_but_an_owner_can(session_client: Any, team: Workspace, user: Any) -> None:
    admin = join(team, "erin", Role.ADMIN)
    make_user("bob")
    body = {"user": "bob", "role": "owner"}
    assert error(session_client(admin.user).post("/api/v1/members", body, format="json"), 403) == "INSUFFICIENT_ROLE"
    assert session_client(user).post("/api/v1/members", body, format="json").status_code == 201


def test_a_session_needs_its_csrf_token_to_add(session_client: Any, user: Any) -> None:
    make_user("bob")
    response = session_client(user, csrf=True).post("/api/v1/members", {"user": "bob", "role": "viewer"}, format="json")
    assert error(response, 403) == "PERMISSION_DENIED"


# --- changing and removing ------------------------------------------------------------------------------


def test_change_a_role_then_remove_the_member(key_client: Any, team: Workspace) -> None:
    bob = join(team, "bob", Role.VIEWER)
    client = key_client(WRITE)
    response = client.patch(f"/api/v1/members/{bob.pk}", {"role": "developer"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "developer"
    assert client.delete(f"/api/v1/members/{bob.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=bob.pk).exists()
    assert list(
        AuditEvent.objects.filter(workspace=team, api_key=None).order_by("created_at").values_list("action", flat=True)
    ) == [
        "member.role_changed",
        "member.removed",
    ]


def test_an_admin_key_cannot_change_or_remove_an_owner(key_client: Any, team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    client = key_client(WRITE)
    assert error(client.patch(f"/api/v1/members/{owner.pk}", {"role": "viewer"}, format="json"), 403) == (
        "INSUFFICIENT_ROLE"
    )
    assert error(client.delete(f"/api/v1/members/{owner.pk}"), 403) == "INSUFFICIENT_ROLE"
    bob = join(team, "bob", Role.ADMIN)
    assert error(client.patch(f"/api/v1/members/{bob.pk}", {"role": "owner"}, format="json"), 403) == (
        "INSUFFICIENT_ROLE"
    )


def test_the_last_owner_cannot_step_down_or_leave(session_client: Any, team: Workspace, user: Any) -> None:
    owner = Membership.objects.get(workspace=team, user=user)
    client = session_client(user)
    assert fields(client.patch(f"/api/v1/members/{owner.pk}", {"role": "admin"}, format="json")) == {
        "role": ["LAST_OWNER"]
    }
    assert fields(client.delete(f"/api/v1/members/{owner.pk}")) == {"member": ["LAST_OWNER"]}
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"role": "boss"}, {"role": ["INVALID_ROLE"]}),
        ({}, {"role": ["REQUIRED"]}),
        ({"role": "admin", "x": 1}, {"x": ["UNKNOWN_FIELD"]}),
    ],
    ids=["unknown-role", "no-role", "unknown-field"],
)
def test_bad_input_to_change_a_role(key_client: Any, team: Workspace, body: dict, expected: dict) -> None:
    bob = join(team, "bob", Role.VIEWER)
    assert fields(key_client(WRITE).patch(f"/api/v1/members/{bob.pk}", body, format="json")) == expected


def test_a_member_of_another_workspace_is_not_found(key_client: Any, other_user: Any) -> None:
    elsewhere = personal_workspace_for(user_id=other_user.pk)
    theirs = Membership.objects.get(workspace=elsewhere, user=other_user)
    client = key_client(WRITE)
    for response in (
        client.get(f"/api/v1/members/{theirs.pk}"),
        client.patch(f"/api/v1/members/{theirs.pk}", {"role": "viewer"}, format="json"),
        client.delete(f"/api/v1/members/{theirs.pk}"),
        client.delete("/api/v1/members/not-a-uuid"),
        client.delete("/api/v1/members/00000000-0000-0000-0000-000000000000"),
    ):
        assert error(response, 404) == "NOT_FOUND"
    theirs.refresh_from_db()
    assert theirs.role == Role.OWNER


def test_a_session_acts_in_its_current_workspace_only(session_client: Any, team: Workspace, user: Any) -> None:
    """Alice owns Acme and her personal workspace; with Acme current, her personal members are not found."""
    personal = personal_workspace_for(user_id=user.pk)
    bob = join(personal, "bob", Role.VIEWER)
    response = session_client(user).delete(f"/api/v1/members/{bob.pk}")
    assert error(response, 404) == "NOT_FOUND"


# --- the schema -----------------------------------------------------------------------------------------


def test_the_schema_documents_the_endpoints_and_their_codes(api: Any) -> None:
    schema = api().get("/api/v1/schema?format=json").json()
    ops = {op["operationId"]: op for item in schema["paths"].values() for op in item.values() if "operationId" in op}
    assert {"workspace_retrieve", "members_list", "members_create", "members_update", "members_destroy"} <= set(ops)
    create = ops["members_create"]["responses"]
    assert "INSUFFICIENT_SCOPE" in create["403"]["description"] and "INSUFFICIENT_ROLE" in create["403"]["description"]
    for code in ("USER_NOT_FOUND", "ALREADY_MEMBER", "INVALID_ROLE"):
        assert code in create["400"]["description"]
    assert "LAST_OWNER" in ops["members_update"]["responses"]["400"]["description"]
    assert "LAST_OWNER" in ops["members_destroy"]["responses"]["400"]["description"]
    assert "NOT_FOUND" in ops["members_destroy"]["responses"]["404"]["description"]
    assert "members:write" in ops["members_destroy"]["description"]
    assert set(ops["members_create"]["responses"]) >= {"201", "400", "401", "403"}
