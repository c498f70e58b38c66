"""Workspace policies in the browser pages and the admin (SPEC §14): the Policies page for each
role, the create form's defaults and refusals, the keys table's badge, and the admin add form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, AuditEvent, WorkspacePolicy
from apikeys.policy_rules import MESSAGES

from ..policy_helpers import Team, make_team, set_policy, signed_in

pytestmark = pytest.mark.django_db

POLICIES = "/settings/developer/policies/"
NEW = "/settings/developer/keys/new/"
MakeKey = Callable[..., tuple[ApiKey, str]]


@pytest.fixture
def team() -> Team:
    return make_team()


def text(response: Any) -> str:
    return response.content.decode()


def rows_data(rows: list[tuple[str, str]], prefix: str = "entries") -> dict[str, str]:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, (cidr, label) in enumerate(rows):
        data[f"{prefix}-{index}-cidr"] = cidr
        data[f"{prefix}-{index}-label"] = label
    return data


def policy_form(rows: list[tuple[str, str]] = (), **fields: Any) -> dict[str, Any]:
    data = {
        "max_key_lifetime_days": "",
        "inactive_key_days": "",
        "leak_response": "restrict",
        "rate_limit_requests": "",
        "rate_limit_per": "",
        **rows_data(list(rows)),
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def create_form(client: Client, rows: list[tuple[str, str]] = (), **fields: Any) -> Any:
    nonce = re.search(r'name="nonce" value="([^"]+)"', text(client.get(NEW))).group(1)
    data = {"name": "Deploy bot", "description": "", "allowlist_mode": "enforce", "nonce": nonce}
    return client.post(NEW, {**data, **rows_data(list(rows)), **fields})


# --- the Policies page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_see_a_form_with_save(team: Team, role: str) -> None:
    html = text(signed_in(team.members[role], team.workspace).get(POLICIES))
    assert re.search(r'<button type="submit" class="button button--primary">Save</button>', html)
    assert 'name="require_allowlist"' in html and 'name="max_key_lifetime_days"' in html
    assert 'aria-current="page">Policies</a>' in html
    assert "<script>" not in html and "onclick" not in html


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_other_roles_see_the_values_read_only(team: Team, role: str) -> None:
    set_policy(
        team.workspace.pk,
        require_allowlist=True,
        max_key_lifetime_days=90,
        default_allowlist=[{"cidr": "203.0.113.0/24", "label": "office"}],
        default_rate_limit={"requests": 50, "per": "minute"},
        leak_response="revoke",
    )
    html = text(signed_in(team.members[role], team.workspace).get(POLICIES))
    assert ">Save<" not in html and '<form method="post" action="/settings/developer/policies/"' not in html
    assert 'name="require_allowlist"' not in html
    for shown in ("90 days", "203.0.113.0/24", "office", "50 requests per minute", "Revoke the key", "Only admins"):
        assert shown in html, shown


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_other_roles_are_refused_saving(team: Team, role: str) -> None:
    response = signed_in(team.members[role], team.workspace).post(POLICIES, policy_form(require_allowlist="on"))
    assert response.status_code == 403 and "INSUFFICIENT_ROLE" in text(response)
    assert not WorkspacePolicy.objects.exists() and not AuditEvent.objects.exists()


def test_an_admin_saves_every_policy_at_once(team: Team) -> None:
    client = signed_in(team.members["admin"], team.workspace)
    response = client.post(
        POLICIES,
        policy_form(
            [("203.0.113.5", "office"), ("", "")],
            require_allowlist="on",
            max_key_lifetime_days="90",
            inactive_key_days="30",
            leak_response="notify",
            rate_limit_requests="100",
            rate_limit_per="hour",
        ),
    )
    assert response.status_code == 302 and response["Location"] == POLICIES
    policy = services.policy_for(team.workspace.pk)
    assert (policy.require_allowlist, policy.max_key_lifetime_days, policy.inactive_key_days) == (True, 90, 30)
    assert policy.default_allowlist == [{"cidr": "203.0.113.5/32", "label": "office"}]
    assert (policy.leak_response, policy.default_rate_limit) == ("notify", {"requests": 100, "per": "hour"})
    event = AuditEvent.objects.get(action="policy.changed")
    assert event.actor_user_id == team.members["admin"].pk and event.after["inactive_key_days"] == 30
    page = text(client.get(POLICIES))
    assert "The policies were saved." in page and 'value="203.0.113.5/32"' in page and "checked" in page


@pytest.mark.parametrize(
    ("fields", "rows", "message"),
    [
        pytest.param({"max_key_lifetime_days": "0"}, [], MESSAGES["INVALID_LIFETIME"], id="lifetime"),
        pytest.param({"inactive_key_days": "3"}, [], MESSAGES["INVALID_INACTIVE_DAYS"], id="inactive"),
        pytest.param({"rate_limit_requests": "10"}, [], MESSAGES["INVALID_RATE_LIMIT"], id="rate-without-per"),
        pytest.param({}, [("203.0.113.5/24", "")], "Did you mean 203.0.113.0/24?", id="entry"),
    ],
)
def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_saved(
    team: Team, fields: dict[str, str], rows: list[tuple[str, str]], message: str
) -> None:
    client = signed_in(team.members["owner"], team.workspace)
    response = client.post(POLICIES, policy_form(rows, require_allowlist="on", **fields))
    assert response.status_code == 200
    html = text(response)
    assert "Nothing was saved" in html and message.replace('"', "&quot;") in html
    assert 'name="require_allowlist" checked' in html or re.search(r'name="require_allowlist"[^>]*checked', html)
    assert not services.policy_for(team.workspace.pk).require_allowlist
    assert not AuditEvent.objects.exists()


def test_add_ip_works_without_javascript(team: Team) -> None:
    client = signed_in(team.members["admin"], team.workspace)
    response = client.post(POLICIES, policy_form([("203.0.113.5", "office")], row_action="add"))
    assert response.status_code == 200
    assert text(response).count('placeholder="203.0.113.5 or 2001:db8::/48"') == 3  # two rows and the template
    assert not WorkspacePolicy.objects.exists()


# --- the create form ------------------------------------------------------------------------------------


def test_the_create_form_starts_with_the_default_allowlist_and_the_longest_lifetime(team: Team) -> None:
    set_policy(
        team.workspace.pk, default_allowlist=[{"cidr": "203.0.113.5/32", "label": "office"}], max_key_lifetime_days=45
    )
    html = text(signed_in(team.members["developer"], team.workspace).get(NEW))
    assert 'value="203.0.113.5/32"' in html and 'value="office"' in html
    assert re.search(r'<option value="45" selected>In 45 days', html)
    assert '<option value="">Never</option>' not in html and 'value="90"' not in html
    assert 'value="30"' in html


def test_the_create_form_without_policies_is_unchanged(team: Team) -> None:
    html = text(signed_in(team.members["developer"], team.workspace).get(NEW))
    assert "data-entry-empty>" in html or "data-entry-empty>" in html
    assert '<option value="" selected>Never</option>' in html


def test_a_required_allowlist_is_shown_in_the_form_and_the_rows_are_kept(team: Team) -> None:
    set_policy(team.workspace.pk, require_allowlist=True)
    client = signed_in(team.members["developer"], team.workspace)
    response = create_form(client, [("", "")], description="kept")
    assert response.status_code == 200
    html = text(response)
    assert MESSAGES["ALLOWLIST_REQUIRED"] in html and "Nothing was created" in html
    assert 'value="Deploy bot"' in html and re.search(r">\s*kept</textarea>", html)
    assert not ApiKey.objects.exists()
    response = create_form(client, [("203.0.113.5", "office")])
    assert "API key created" in text(response)
    assert ApiKey.objects.get().entries.get().cidr == "203.0.113.5/32"


def test_the_form_creates_keys_within_the_longest_lifetime(team: Team) -> None:
    set_policy(team.workspace.pk, max_key_lifetime_days=45)
    client = signed_in(team.members["developer"], team.workspace)
    refused = create_form(client, expires_in="365")
    assert refused.status_code == 200 and "Select a valid choice" in text(refused)
    refused = create_form(client, expires_in="")
    assert refused.status_code == 200 and not ApiKey.objects.exists()
    assert "API key created" in text(create_form(client, expires_in="45"))
    expires_at = ApiKey.objects.get().expires_at
    assert timedelta(days=44) < expires_at - timezone.now() <= timedelta(days=45)


def test_a_lifetime_shortened_after_the_form_was_shown_refuses_the_old_choice(team: Team) -> None:
    client = signed_in(team.members["developer"], team.workspace)
    nonce = re.search(r'name="nonce" value="([^"]+)"', text(client.get(NEW))).group(1)
    set_policy(team.workspace.pk, max_key_lifetime_days=5)
    data = {"name": "late", "description": "", "allowlist_mode": "enforce", "nonce": nonce, "expires_in": "5"}
    assert "API key created" in text(client.post(NEW, {**data, **rows_data([])}))
    set_policy(team.workspace.pk, max_key_lifetime_days=1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', text(client.get(NEW))).group(1)
    response = client.post(NEW, {**data, "nonce": nonce, **rows_data([])})
    assert "Select a valid choice" in text(response)


# --- the keys table -------------------------------------------------------------------------------------


def test_the_keys_table_marks_keys_that_break_a_policy(
    team: Team, make_key: MakeKey, django_assert_max_num_queries: Any
) -> None:
    owner = team.members["owner"]
    make_key(owner, name="open key", workspace_id=team.workspace.pk)
    make_key(
        owner,
        name="fenced key",
        allow=["203.0.113.5"],
        workspace_id=team.workspace.pk,
        expires_at=timezone.now() + timedelta(days=3),
    )
    client = signed_in(team.members["viewer"], team.workspace)
    assert "Breaks policy" not in text(client.get("/settings/developer/"))
    set_policy(team.workspace.pk, require_allowlist=True, max_key_lifetime_days=30)
    html = text(client.get("/settings/developer/"))
    assert html.count("Breaks policy") == 1
    start = html.index("open key")
    row = html[start : html.index("</tr>", start)]
    assert 'data-code="ALLOWLIST_REQUIRED"' in row and 'data-code="EXPIRY_TOO_LATE"' in row
    assert "No IP allowlist entries" in row and "Never expires" in row
    # The policies are read once for the whole table, however many keys it lists.
    with django_assert_max_num_queries(12) as few:
        client.get("/settings/developer/")
    soon = timezone.now() + timedelta(days=3)
    for number in range(5):
        make_key(owner, name=f"more {number}", workspace_id=team.workspace.pk, allow=["203.0.113.5"], expires_at=soon)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/settings/developer/")


# --- the admin ------------------------------------------------------------------------------------------


@pytest.fixture
def staff(client: Client) -> Client:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")
    client.force_login(admin)
    return client


def admin_form(workspace: Any, rows: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    data = {
        "workspace": workspace.pk,
        "name": "from admin",
        "description": "",
        "scopes": ["keys:read"],
        "allowlist_mode": "enforce",
        "expires_at_0": "",
        "expires_at_1": "",
        "entries-TOTAL_FORMS": str(len(rows)),
        "entries-INITIAL_FORMS": "0",
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "20",
    }
    for index, (cidr, label) in enumerate(rows):
        data[f"entries-{index}-cidr"] = cidr
        data[f"entries-{index}-label"] = label
    return {**data, **extra}


def test_the_admin_add_form_refuses_a_key_without_entries_where_required(staff: Client, team: Team) -> None:
    set_policy(team.workspace.pk, require_allowlist=True)
    response = staff.post("/admin/apikeys/apikey/add/", admin_form(team.workspace, []))
    assert response.status_code == 200 and MESSAGES["ALLOWLIST_REQUIRED"] in text(response)
    assert not ApiKey.objects.exists()
    response = staff.post("/admin/apikeys/apikey/add/", admin_form(team.workspace, [("203.0.113.5", "office")]))
    assert response.status_code == 302
    key = ApiKey.objects.get()
    assert list(key.entries.values_list("cidr", "label")) == [("203.0.113.5/32", "office")]
    # One event: the key was created with its allowlist.
    assert list(AuditEvent.objects.filter(api_key=key).values_list("action", flat=True)) == ["key.created"]


def test_the_admin_add_form_refuses_an_expiry_beyond_the_longest_lifetime(staff: Client, team: Team) -> None:
    set_policy(team.workspace.pk, max_key_lifetime_days=30)
    response = staff.post("/admin/apikeys/apikey/add/", admin_form(team.workspace, []))
    assert response.status_code == 200 and "must expire within 30 days" in text(response)
    later = (timezone.now() + timedelta(days=60)).strftime("%Y-%m-%d")
    response = staff.post("/admin/apikeys/apikey/add/", admin_form(team.workspace, [], expires_at_0=later))
    assert response.status_code == 200 and not ApiKey.objects.exists()
    soon = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%d")
    response = staff.post(
        "/admin/apikeys/apikey/add/", admin_form(team.workspace, [], expires_at_0=soon, expires_at_1="12:00:00")
    )
    assert response.status_code == 302 and ApiKey.objects.count() == 1


def test_the_admin_change_form_refuses_removing_the_last_entry_where_required(
    staff: Client, team: Team, make_key: MakeKey
) -> None:
    key, _ = make_key(team.members["owner"], workspace_id=team.workspace.pk, allow=["203.0.113.5"])
    set_policy(team.workspace.pk, require_allowlist=True)
    entry = key.entries.get()
    data = admin_form(team.workspace, [], name=key.name)
    data.update(
        {
            "entries-TOTAL_FORMS": "1",
            "entries-INITIAL_FORMS": "1",
            "entries-0-id": str(entry.pk),
            "entries-0-api_key": str(key.pk),
            "entries-0-cidr": entry.cidr,
            "entries-0-label": "",
            "entries-0-DELETE": "on",
        }
    )
    response = staff.post(f"/admin/apikeys/apikey/{key.pk}/change/", data)
    assert response.status_code == 200 and MESSAGES["ALLOWLIST_REQUIRED"] in text(response)
    assert key.entries.count() == 1


def test_the_allowlist_editor_keeps_the_last_entry_where_required(team: Team, make_key: MakeKey) -> None:
    key, _ = make_key(
        team.members["developer"], scopes=["keys:read"], workspace_id=team.workspace.pk, allow=["203.0.113.5"]
    )
    set_policy(team.workspace.pk, require_allowlist=True)
    client = signed_in(team.members["developer"], team.workspace)
    response = client.post(f"/settings/developer/keys/{key.pk}/allowlist/", {"mode": "enforce", **rows_data([])})
    assert response.status_code == 200 and MESSAGES["ALLOWLIST_REQUIRED"] in text(response)
    assert list(key.entries.values_list("cidr", flat=True)) == ["203.0.113.5/32"]
