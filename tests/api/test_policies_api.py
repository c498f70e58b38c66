"""GET and PATCH /api/v1/policies, and the policies enforced on the key endpoints (SPEC §6, §14),
by a key and by a browser session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import ApiKey, AuditEvent, WorkspacePolicy
from apikeys.services import policy_for

from ..policy_helpers import Team, field_codes, make_team, set_policy, signed_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/policies"
MakeKey = Callable[..., tuple[ApiKey, str]]
DEFAULTS = {
    "require_allowlist": False,
    "default_allowlist": [],
    "max_key_lifetime_days": None,
    "inactive_key_days": None,
    "leak_response": "restrict",
    "default_rate_limit": None,
    "updated_at": None,
}


@pytest.fixture
def team() -> Team:
    return make_team()


@pytest.fixture
def key_client(team: Team, make_key: MakeKey, api: Any) -> Callable[..., APIClient]:
    """An API client with a key of the team's workspace, made by its owner, holding ``scopes``."""

    def client(*scopes: str) -> APIClient:
        _, secret = make_key(team.members["owner"], scopes=list(scopes), workspace_id=team.workspace.pk)
        return api(secret)

    return client


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- reading --------------------------------------------------------------------------------------------


def test_a_key_with_keys_read_gets_the_defaults(key_client: Callable[..., APIClient]) -> None:
    response = key_client("keys:read").get(URL)
    assert response.status_code == 200 and response.json() == DEFAULTS


def test_reading_needs_keys_read(key_client: Callable[..., APIClient]) -> None:
    response = key_client("logs:read").get(URL)
    assert (response.status_code, error_code(response)) == (403, "INSUFFICIENT_SCOPE")


@pytest.mark.parametrize("role", ["viewer", "developer", "admin", "owner"])
def test_every_member_reads_them_in_a_session(team: Team, role: str) -> None:
    set_policy(team.workspace.pk, inactive_key_days=60)
    response = signed_in(team.members[role], team.workspace, api=True).get(URL)
    assert response.status_code == 200 and response.json()["inactive_key_days"] == 60


def test_a_key_reads_only_its_own_workspaces_policies(team: Team, user: Any, make_key: MakeKey, api: Any) -> None:
    set_policy(team.workspace.pk, require_allowlist=True)
    _, secret = make_key(user, scopes=["keys:read"])
    assert api(secret).get(URL).json()["require_allowlist"] is False


# --- changing -------------------------------------------------------------------------------------------


def test_a_key_with_workspace_admin_changes_them(team: Team, key_client: Callable[..., APIClient]) -> None:
    reader = key_client("keys:read")
    response = key_client("keys:read", "workspace:admin").patch(
        URL,
        {
            "require_allowlist": True,
            "default_allowlist": [{"cidr": "2001:DB8::/48", "label": "v6"}],
            "default_rate_limit": {"requests": 10, "per": "second"},
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["require_allowlist"] is True and body["updated_at"] is not None
    assert body["default_allowlist"] == [{"cidr": "2001:db8::/48", "label": "v6"}]
    assert body["default_rate_limit"] == {"requests": 10, "per": "second"}
    assert body["max_key_lifetime_days"] is None
    event = AuditEvent.objects.get(action="policy.changed")
    assert event.actor_key_id is not None and event.api_key_id is None
    events = reader.get("/api/v1/events").json()["results"]
    assert events[0]["action"] == "policy.changed" and events[0]["api_key"] is None
    assert events[0]["after"]["require_allowlist"] is True and events[0]["before"]["require_allowlist"] is False


@pytest.mark.parametrize("scopes", [("keys:read",), ("keys:read", "keys:write")], ids=["read", "read-write"])
def test_a_key_without_workspace_admin_cannot_change_them(
    team: Team, key_client: Callable[..., APIClient], scopes: tuple[str, ...]
) -> None:
    client = key_client(*scopes)
    assert client.get(URL).status_code == 200
    response = client.patch(URL, {"require_allowlist": True}, format="json")
    assert (response.status_code, error_code(response)) == (403, "INSUFFICIENT_SCOPE")
    assert not WorkspacePolicy.objects.exists()


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_an_admin_session_changes_them(team: Team, role: str) -> None:
    client = signed_in(team.members[role], team.workspace, api=True)
    response = client.patch(URL, {"max_key_lifetime_days": 365, "leak_response": "revoke"}, format="json")
    assert response.status_code == 200
    assert (response.json()["max_key_lifetime_days"], response.json()["leak_response"]) == (365, "revoke")
    assert AuditEvent.objects.get(action="policy.changed").actor_user_id == team.members[role].pk


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_viewer_and_developer_sessions_get_insufficient_role(team: Team, role: str) -> None:
    response = signed_in(team.members[role], team.workspace, api=True).patch(
        URL, {"require_allowlist": True}, format="json"
    )
    assert (response.status_code, error_code(response)) == (403, "INSUFFICIENT_ROLE")
    assert not WorkspacePolicy.objects.exists() and not AuditEvent.objects.exists()


def test_a_session_needs_its_csrf_token(team: Team) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(team.members["owner"])
    response = client.patch(URL, {"require_allowlist": True}, format="json")
    assert response.status_code == 403 and not WorkspacePolicy.objects.exists()


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        pytest.param({"require_allowlist": "true"}, "require_allowlist", "INVALID", id="require-text"),
        pytest.param({"max_key_lifetime_days": 0}, "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-0"),
        pytest.param({"max_key_lifetime_days": "7"}, "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-text"),
        pytest.param({"inactive_key_days": 6}, "inactive_key_days", "INVALID_INACTIVE_DAYS", id="inactive-6"),
        pytest.param({"leak_response": "shrug"}, "leak_response", "INVALID_LEAK_RESPONSE", id="leak"),
        pytest.param(
            {"default_rate_limit": {"requests": 5, "per": "fortnight"}},
            "default_rate_limit",
            "INVALID_RATE_LIMIT",
            id="rate-limit",
        ),
        pytest.param(
            {"default_allowlist": [{"cidr": "203.0.113.5"}, {"cidr": "203.0.113.9"}, {"cidr": "10.0.0.0/8"}]},
            "default_allowlist.2.cidr",
            "PREFIX_TOO_BROAD",
            id="entry",
        ),
        pytest.param(
            {"default_allowlist": [{"cidr": f"198.51.100.{n}"} for n in range(21)]},
            "default_allowlist",
            "TOO_MANY_ENTRIES",
            id="too-many",
        ),
        pytest.param({"colour": "red"}, "colour", "UNKNOWN_FIELD", id="unknown-field"),
    ],
)
def test_each_bad_value_answers_400_with_its_code(
    key_client: Callable[..., APIClient], body: dict[str, Any], path: str, code: str
) -> None:
    response = key_client("workspace:admin").patch(URL, body, format="json")
    assert response.status_code == 400 and field_codes(response) == {path: [code]}


def test_one_bad_field_changes_nothing(team: Team, key_client: Callable[..., APIClient]) -> None:
    client = key_client("keys:read", "workspace:admin")
    response = client.patch(
        URL,
        {"require_allowlist": True, "max_key_lifetime_days": 30, "inactive_key_days": 1, "leak_response": "notify"},
        format="json",
    )
    assert response.status_code == 400 and field_codes(response) == {"inactive_key_days": ["INVALID_INACTIVE_DAYS"]}
    assert client.get(URL).json() == DEFAULTS
    assert not AuditEvent.objects.filter(action="policy.changed").exists()


def test_an_unknown_field_beside_good_ones_changes_nothing(key_client: Callable[..., APIClient]) -> None:
    client = key_client("keys:read", "workspace:admin")
    response = client.patch(URL, {"require_allowlist": True, "require_mfa": True}, format="json")
    assert response.status_code == 400 and field_codes(response) == {"require_mfa": ["UNKNOWN_FIELD"]}
    assert client.get(URL).json() == DEFAULTS


def test_fields_left_out_keep_their_values(team: Team, key_client: Callable[..., APIClient]) -> None:
    client = key_client("workspace:admin")
    set_policy(team.workspace.pk, require_allowlist=True, inactive_key_days=90)
    response = client.patch(URL, {"inactive_key_days": None}, format="json")
    assert response.json()["require_allowlist"] is True and response.json()["inactive_key_days"] is None


# --- enforced on the key endpoints ----------------------------------------------------------------------

CHANNELS = ["key", "session"]


@pytest.fixture(params=CHANNELS)
def writer(request: Any, team: Team, key_client: Callable[..., APIClient]) -> APIClient:
    """A client that may create and change keys: a key with keys:read and keys:write, or an admin's session."""
    if request.param == "key":
        return key_client("keys:read", "keys:write")
    return signed_in(team.members["admin"], team.workspace, api=True)


def test_a_required_allowlist_refuses_a_key_without_entries(team: Team, writer: APIClient) -> None:
    set_policy(team.workspace.pk, require_allowlist=True)
    before = ApiKey.objects.count()
    for body in ({"name": "n"}, {"name": "n", "allowlist": []}):
        response = writer.post("/api/v1/keys", body, format="json")
        assert response.status_code == 400 and field_codes(response) == {"allowlist": ["ALLOWLIST_REQUIRED"]}
    assert ApiKey.objects.count() == before
    response = writer.post("/api/v1/keys", {"name": "n", "allowlist": [{"cidr": "203.0.113.5"}]}, format="json")
    assert response.status_code == 201 and response.json()["policy_violations"] == []


def test_a_required_allowlist_refuses_an_empty_replace_and_removing_the_last_entry(
    team: Team, writer: APIClient, make_key: MakeKey
) -> None:
    # Made by the owner: the writer key acts for the owner, who created it; the session is an admin.
    key, _ = make_key(team.members["owner"], workspace_id=team.workspace.pk, allow=["203.0.113.5"])
    set_policy(team.workspace.pk, require_allowlist=True)
    response = writer.put(f"/api/v1/keys/{key.pk}/allowlist", {"entries": []}, format="json")
    assert response.status_code == 400 and field_codes(response) == {"entries": ["ALLOWLIST_REQUIRED"]}
    entry = key.entries.get()
    response = writer.delete(f"/api/v1/keys/{key.pk}/allowlist/{entry.pk}")
    assert response.status_code == 400 and field_codes(response) == {"non_field_errors": ["ALLOWLIST_REQUIRED"]}
    assert key.entries.count() == 1
    response = writer.post(f"/api/v1/keys/{key.pk}/allowlist", {"cidr": "198.51.100.7"}, format="json")
    assert response.status_code == 201
    assert writer.delete(f"/api/v1/keys/{key.pk}/allowlist/{entry.pk}").status_code == 204


def test_a_longest_lifetime_refuses_late_or_missing_expiry(team: Team, writer: APIClient, make_key: MakeKey) -> None:
    set_policy(team.workspace.pk, max_key_lifetime_days=30)
    late = (timezone.now() + timedelta(days=31)).isoformat()
    for body in ({"name": "n"}, {"name": "n", "expires_at": None}, {"name": "n", "expires_at": late}):
        response = writer.post("/api/v1/keys", body, format="json")
        assert response.status_code == 400 and field_codes(response) == {"expires_at": ["EXPIRY_TOO_LATE"]}
    soon = (timezone.now() + timedelta(days=29)).isoformat()
    created = writer.post("/api/v1/keys", {"name": "n", "expires_at": soon}, format="json")
    assert created.status_code == 201
    key_id = created.json()["id"]
    response = writer.patch(f"/api/v1/keys/{key_id}", {"expires_at": None}, format="json")
    assert response.status_code == 400 and field_codes(response) == {"expires_at": ["EXPIRY_TOO_LATE"]}
    assert writer.patch(f"/api/v1/keys/{key_id}", {"name": "renamed"}, format="json").status_code == 200


def test_post_keys_takes_the_default_allowlist_only_when_none_is_given(team: Team, writer: APIClient) -> None:
    set_policy(team.workspace.pk, default_allowlist=[{"cidr": "203.0.113.0/24", "label": "office"}])
    defaulted = writer.post("/api/v1/keys", {"name": "defaulted"}, format="json").json()
    assert [(e["cidr"], e["label"]) for e in defaulted["allowlist"]] == [("203.0.113.0/24", "office")]
    empty = writer.post("/api/v1/keys", {"name": "empty", "allowlist": []}, format="json").json()
    assert empty["allowlist"] == []
    own = writer.post("/api/v1/keys", {"name": "own", "allowlist": [{"cidr": "198.51.100.7"}]}, format="json")
    assert [e["cidr"] for e in own.json()["allowlist"]] == ["198.51.100.7/32"]


# --- policy_violations ----------------------------------------------------------------------------------


def test_key_objects_list_the_policies_they_break(team: Team, make_key: MakeKey, api: Any) -> None:
    _, secret = make_key(
        team.members["owner"],
        scopes=["keys:read"],
        workspace_id=team.workspace.pk,
        allow=["127.0.0.1"],
        expires_at=timezone.now() + timedelta(days=5),
    )
    open_key, _ = make_key(team.members["owner"], name="open", workspace_id=team.workspace.pk)
    client = api(secret)
    assert {body["name"]: body["policy_violations"] for body in client.get("/api/v1/keys").json()} == {
        "CI deploy": [],
        "open": [],
    }
    set_policy(team.workspace.pk, require_allowlist=True, max_key_lifetime_days=30)
    listed = {body["name"]: body["policy_violations"] for body in client.get("/api/v1/keys").json()}
    assert listed == {"CI deploy": [], "open": ["ALLOWLIST_REQUIRED", "EXPIRY_TOO_LATE"]}
    one = client.get(f"/api/v1/keys/{open_key.pk}").json()
    assert one["policy_violations"] == ["ALLOWLIST_REQUIRED", "EXPIRY_TOO_LATE"]
    assert policy_for(team.workspace.pk).require_allowlist


def test_policy_violations_cost_no_query_per_key(
    team: Team, make_key: MakeKey, api: Any, django_assert_max_num_queries: Any
) -> None:
    _, secret = make_key(team.members["owner"], scopes=["keys:read"], workspace_id=team.workspace.pk)
    set_policy(team.workspace.pk, require_allowlist=True)
    client = api(secret)
    with django_assert_max_num_queries(20) as few:
        client.get("/api/v1/keys")
    set_policy(team.workspace.pk, require_allowlist=False)
    for number in range(6):
        make_key(team.members["owner"], name=f"key {number}", workspace_id=team.workspace.pk)
    set_policy(team.workspace.pk, require_allowlist=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/api/v1/keys").json()
    assert len(body) == 7 and all(item["policy_violations"] == ["ALLOWLIST_REQUIRED"] for item in body)


# --- the schema -----------------------------------------------------------------------------------------


def test_the_schema_documents_the_policy_codes(api: Any) -> None:
    schema = api().get("/api/v1/schema?format=json").json()
    update = schema["paths"]["/api/v1/policies/"]["patch"]
    described = update["responses"]["400"]["description"]
    for code in ("INVALID_LIFETIME", "INVALID_INACTIVE_DAYS", "INVALID_LEAK_RESPONSE", "INVALID_RATE_LIMIT"):
        assert f"`{code}`" in described
    assert "`TOO_MANY_ENTRIES`" in described and "`UNKNOWN_FIELD`" in described
    assert "`INSUFFICIENT_ROLE`" in update["responses"]["403"]["description"]
    assert "Required scope: `workspace:admin`" in update["description"]
    assert "Required scope: `keys:read`" in schema["paths"]["/api/v1/policies/"]["get"]["description"]
    create = schema["paths"]["/api/v1/keys/"]["post"]["responses"]["400"]["description"]
    assert "`ALLOWLIST_REQUIRED`" in create and "`EXPIRY_TOO_LATE`" in create
    items = schema["components"]["schemas"]["ApiKey"]["properties"]["policy_violations"]["items"]
    enum = schema["components"]["schemas"][items["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {"ALLOWLIST_REQUIRED", "EXPIRY_TOO_LATE"}
