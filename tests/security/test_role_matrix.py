"""Every role by every action by every channel, and the answer each must get (SPEC §13).

The team workspace has an owner, an admin, a developer and a viewer. Each member has a key they
created there ("their own"), and the owner has one more ("another's"). Each cell asks, through
one channel, for one action on one of those keys, and checks the answer and the database:

- allowed: the change is made;
- refused: 403 ``INSUFFICIENT_ROLE`` (a 403 page in the browser and the admin, the code on
  stderr for the command line), and nothing changes.

What each role may do is written out below from the SPEC's table, not derived from the rule
under test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from apikeys.models import ApiKey, AuditEvent
from workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db

ROLES = ["viewer", "developer", "admin", "owner"]
# What each role may do to keys (SPEC §13).
MAY = {
    "viewer": {"view"},
    "developer": {"view", "create", "change own"},
    "admin": {"view", "create", "change own", "change another's"},
    "owner": {"view", "create", "change own", "change another's"},
}
CHANGES = ["edit", "allowlist", "roll", "revoke"]


@dataclass
class Team:
    workspace: Workspace
    members: dict[str, Any]
    own: dict[str, ApiKey]
    another: ApiKey


@pytest.fixture
def team(make_key: Any) -> Team:
    users = get_user_model().objects
    workspace = Workspace.objects.create(name="Payments team", slug="payments")
    members, own = {}, {}
    for role in ROLES:
        member = users.create_user(f"{role}-member", f"{role}@example.com", "a-long-passphrase-1")
        # Each makes a key while allowed to, then takes their role: a viewer may have been a developer.
        membership = Membership.objects.create(workspace=workspace, user=member, role="owner")
        own[role], _ = make_key(member, name=f"{role}'s key", scopes=["keys:read"], workspace_id=workspace.pk)
        membership.role = role
        membership.save()
        members[role] = member
    another, _ = make_key(members["owner"], name="owner's second key", scopes=["keys:read"], workspace_id=workspace.pk)
    return Team(workspace, members, own, another)


def target(team: Team, role: str, whose: str) -> ApiKey:
    return team.own[role] if whose == "own" else team.another


def state(key: ApiKey) -> tuple[Any, ...]:
    key = ApiKey.objects.get(pk=key.pk)
    return (key.name, key.secret_hash, key.revoked_at, sorted(key.entries.values_list("cidr", flat=True)))


def allowed(role: str, action: str) -> bool:
    return action in MAY[role]


# ---------------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------------


def api_session(team: Team, role: str) -> APIClient:
    client = APIClient(REMOTE_ADDR="192.0.2.10")
    client.force_login(team.members[role])
    assert client.post("/settings/workspace/", {"workspace": "payments"}).status_code == 302
    return client


def browser(team: Team, role: str) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(team.members[role])
    assert client.post("/settings/workspace/", {"workspace": "payments"}).status_code == 302
    return client


def api_change(client: APIClient, change: str, key: ApiKey) -> Any:
    base = f"/api/v1/keys/{key.pk}"
    return {
        "edit": lambda: client.patch(base, {"name": "renamed"}, format="json"),
        "allowlist": lambda: client.put(f"{base}/allowlist", {"entries": [{"cidr": "192.0.2.0/24"}]}, format="json"),
        "roll": lambda: client.post(f"{base}/roll", {}, format="json"),
        "revoke": lambda: client.delete(base),
    }[change]()


NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def page_change(client: Client, change: str, key: ApiKey) -> Any:
    base = f"/settings/developer/keys/{key.pk}"
    if change in ("edit", "allowlist"):  # the page edits a key through its allowlist editor
        rows = {"entries-TOTAL_FORMS": "1", "entries-INITIAL_FORMS": "0", "entries-0-cidr": "192.0.2.0/24"}
        return client.post(f"{base}/allowlist/", {**rows, "entries-0-label": "", "mode": "enforce"})
    if change == "roll":
        confirm = client.get(f"{base}/roll/")
        found = NONCE.search(confirm.content.decode())
        return client.post(f"{base}/roll/", {"grace_seconds": "0", "nonce": found.group(1) if found else "x"})
    return client.post(f"{base}/revoke/")


def assert_refused_page(response: Any) -> None:
    assert response.status_code == 403, response.status_code
    assert "INSUFFICIENT_ROLE" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Viewing: every role sees every key of the workspace, in every channel
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_every_key_through_the_api_and_the_page(team: Team, role: str) -> None:
    names = {key.name for key in ApiKey.objects.filter(workspace=team.workspace)}
    listed = api_session(team, role).get("/api/v1/keys").json()
    assert {item["name"] for item in listed} == names
    html = browser(team, role).get("/settings/developer/").content.decode()
    assert all(name.replace("'", "&#x27;") in html for name in names)
    events = api_session(team, role).get("/api/v1/events").json()["results"]
    assert {event["action"] for event in events} >= {"key.created"}


# ---------------------------------------------------------------------------------------------
# Changing a key: role by (own, another's) by change by channel
# ---------------------------------------------------------------------------------------------

CELLS = [
    pytest.param(role, whose, change, id=f"{role}-{whose}-{change}")
    for role in ROLES
    for whose in ("own", "another's")
    for change in CHANGES
]


@pytest.mark.parametrize(("role", "whose", "change"), CELLS)
def test_api_with_a_session(team: Team, role: str, whose: str, change: str) -> None:
    key = target(team, role, whose)
    before = state(key)
    response = api_change(api_session(team, role), change, key)
    if allowed(role, f"change {whose}"):
        assert 200 <= response.status_code < 300, response.content[:300]
        assert state(key) != before
    else:
        assert response.status_code == 403, response.content[:300]
        assert response.json()["error"]["code"] == "INSUFFICIENT_ROLE"
        assert state(key) == before


@pytest.mark.parametrize(("role", "whose", "change"), CELLS)
def test_settings_pages(team: Team, role: str, whose: str, change: str) -> None:
    key = target(team, role, whose)
    before = state(key)
    response = page_change(browser(team, role), change, key)
    if allowed(role, f"change {whose}"):
        assert response.status_code in (200, 302), response.status_code
        assert state(key) != before
    else:
        assert_refused_page(response)
        assert state(key) == before


@pytest.mark.parametrize(("role", "whose"), [(role, whose) for role in ROLES for whose in ("own", "another's")])
def test_the_pages_hide_what_the_role_may_not_use(team: Team, role: str, whose: str) -> None:
    key = target(team, role, whose)
    client = browser(team, role)
    html = client.get("/settings/developer/").content.decode()
    may = allowed(role, f"change {whose}")
    assert (f"/settings/developer/keys/{key.pk}/revoke/" in html) is may
    assert (f"/settings/developer/keys/{key.pk}/roll/" in html) is may
    assert ("Create API Key" in html) is allowed(role, "create")
    editor = client.get(f"/settings/developer/keys/{key.pk}/allowlist/").content.decode()
    assert editor.count(">Save</button>") == (2 if may else 0)  # the visible one and Enter's default


def staff(team: Team, role: str) -> Client:
    member = team.members[role]
    member.is_staff = True
    member.save()
    member.user_permissions.set(Permission.objects.filter(content_type__app_label="apikeys"))
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(member)
    return client


@pytest.mark.parametrize(("role", "whose"), [(role, whose) for role in ROLES for whose in ("own", "another's")])
def test_admin_revoke_by_staff_who_are_not_superusers(team: Team, role: str, whose: str) -> None:
    key = target(team, role, whose)
    response = staff(team, role).post(f"/admin/apikeys/apikey/{key.pk}/revoke/")
    fresh = ApiKey.objects.get(pk=key.pk)
    if allowed(role, f"change {whose}"):
        assert response.status_code == 302 and fresh.revoked_at is not None
    else:
        assert_refused_page(response)
        assert fresh.revoked_at is None


@pytest.mark.parametrize("role", ROLES)
def test_admin_lists_only_the_workspaces_of_staff_who_are_not_superusers(team: Team, role: str, make_key: Any) -> None:
    outsider = get_user_model().objects.create_user("outsider", "o@example.com", "a-long-passphrase-2")
    elsewhere, _ = make_key(outsider, name="outsider's key")
    html = staff(team, role).get("/admin/apikeys/apikey/").content.decode()
    assert team.another.name.replace("'", "&#x27;") in html and elsewhere.name.replace("'", "&#x27;") not in html
    assert staff(team, role).post(f"/admin/apikeys/apikey/{elsewhere.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=elsewhere.pk).revoked_at is None


# ---------------------------------------------------------------------------------------------
# Creating a key: role by channel
# ---------------------------------------------------------------------------------------------

CREATE_FORM = {"name": "new key", "description": "", "allowlist_mode": "enforce", "entries-TOTAL_FORMS": "0"}


def create_by_page(team: Team, role: str) -> Any:
    client = browser(team, role)
    form = client.get("/settings/developer/keys/new/")
    found = NONCE.search(form.content.decode())
    if found is None:
        return form
    return client.post(
        "/settings/developer/keys/new/", {**CREATE_FORM, "entries-INITIAL_FORMS": "0", "nonce": found[1]}
    )


def create_by_api(team: Team, role: str) -> Any:
    return api_session(team, role).post("/api/v1/keys", {"name": "new key"}, format="json")


def create_by_admin(team: Team, role: str) -> Any:
    data = {
        "workspace": str(team.workspace.pk),
        "name": "new key",
        "description": "",
        "allowlist_mode": "enforce",
        "expires_at_0": "",
        "expires_at_1": "",
        "entries-TOTAL_FORMS": "0",
        "entries-INITIAL_FORMS": "0",
    }
    return staff(team, role).post("/admin/apikeys/apikey/add/", data)


def create_by_cli(team: Team, role: str) -> Any:
    err = StringIO()
    try:
        call_command("create_api_key", "--user", f"{role}-member", "--name", "new key", "--workspace", "payments")
    except CommandError as exc:
        err.write(str(exc))
    return err.getvalue()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("channel", "create"),
    [("page", create_by_page), ("api", create_by_api), ("admin", create_by_admin), ("cli", create_by_cli)],
)
def test_creating_a_key(team: Team, role: str, channel: str, create: Callable[[Team, str], Any]) -> None:
    answer = create(team, role)
    made = ApiKey.objects.filter(workspace=team.workspace, name="new key")
    if allowed(role, "create"):
        assert made.count() == 1, answer
        assert made.get().created_by == team.members[role]
    elif channel == "cli":
        assert answer.startswith("INSUFFICIENT_ROLE") and not made.exists()
    else:
        assert answer.status_code == 403 and "INSUFFICIENT_ROLE" in answer.content.decode()
        assert not made.exists()


# ---------------------------------------------------------------------------------------------
# Keys act within their scopes, as their creator's developer or, with an admin scope, as an admin
# ---------------------------------------------------------------------------------------------


def key_client(secret: str) -> APIClient:
    client = APIClient(REMOTE_ADDR="192.0.2.10")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.mark.parametrize("change", CHANGES)
def test_a_developers_key_changes_its_creators_keys_only(team: Team, make_key: Any, change: str) -> None:
    developer = team.members["developer"]
    _, secret = make_key(
        developer, name="dev automation", scopes=["keys:read", "keys:write"], workspace_id=team.workspace.pk
    )
    mine, theirs = team.own["developer"], team.another
    before_theirs = state(theirs)
    refused = api_change(key_client(secret), change, theirs)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSUFFICIENT_ROLE"
    assert state(theirs) == before_theirs
    before_mine = state(mine)
    assert 200 <= api_change(key_client(secret), change, mine).status_code < 300
    assert state(mine) != before_mine


@pytest.mark.parametrize("change", CHANGES)
def test_a_key_with_an_admin_scope_changes_any_key(team: Team, make_key: Any, change: str) -> None:
    _, secret = make_key(
        team.members["admin"],
        name="admin automation",
        scopes=["keys:read", "keys:write", "workspace:admin"],
        workspace_id=team.workspace.pk,
    )
    before = state(team.another)
    assert 200 <= api_change(key_client(secret), change, team.another).status_code < 300
    assert state(team.another) != before


@pytest.mark.parametrize("scope", ["members:write", "workspace:admin"])
@pytest.mark.parametrize("role", ROLES[1:])
def test_only_admins_grant_the_admin_scopes(team: Team, role: str, scope: str) -> None:
    response = api_session(team, role).post("/api/v1/keys", {"name": "powerful", "scopes": [scope]}, format="json")
    if role in ("admin", "owner"):
        assert response.status_code == 201
    else:
        assert response.status_code == 403 and response.json()["error"]["code"] == "INSUFFICIENT_ROLE"
        assert not ApiKey.objects.filter(name="powerful").exists()


def test_a_refusal_writes_no_audit_event(team: Team) -> None:
    count = AuditEvent.objects.count()
    api_change(api_session(team, "viewer"), "revoke", team.another)
    page_change(browser(team, "developer"), "roll", team.another)
    assert AuditEvent.objects.count() == count
