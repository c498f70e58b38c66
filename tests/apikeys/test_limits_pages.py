"""Limits in the browser pages (SPEC §18): the create form, the key's Limits page, the keys table."""

from __future__ import annotations

from typing import Any

import pytest

from apikeys.models import ApiKey, AuditEvent
from apikeys.secrets import hash_key
from tests.apikeys.test_views import KEY_PATTERN, create, signed_in
from tests.policy_helpers import make_team, set_policy
from tests.policy_helpers import signed_in as member_session
from workspaces.services import personal_workspace_for

pytestmark = pytest.mark.django_db


def limits_page(key: Any) -> str:
    return f"/settings/developer/keys/{key.pk}/limits/"


def test_the_create_form_sets_both_limits(user: Any) -> None:
    response = create(signed_in(user), rate_limit_requests="60", rate_limit_per="minute", monthly_quota="100000")
    key = ApiKey.objects.get(secret_hash=hash_key(KEY_PATTERN.search(response.content.decode()).group(0)))
    assert (key.rate_limit, key.monthly_quota) == ({"requests": 60, "per": "minute"}, 100000)


def test_the_create_form_starts_with_the_workspace_default_and_can_clear_it(user: Any) -> None:
    set_policy(personal_workspace_for(user_id=user.pk).pk, default_rate_limit={"requests": 7, "per": "hour"})
    client = signed_in(user)
    html = client.get("/settings/developer/keys/new/").content.decode()
    assert 'name="rate_limit_requests" value="7"' in html
    assert '<option value="hour" selected>' in html
    create(client, name="cleared", rate_limit_requests="", rate_limit_per="")
    assert ApiKey.objects.get(name="cleared").rate_limit is None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"rate_limit_requests": "0", "rate_limit_per": "minute"}, "with N from 1 to 1000000"),
        ({"rate_limit_requests": "10", "rate_limit_per": ""}, "with N from 1 to 1000000"),
        ({"rate_limit_requests": "1.5", "rate_limit_per": "minute"}, "Enter a whole number"),
        ({"monthly_quota": "0"}, "from 1 to 1,000,000,000,000"),
    ],
)
def test_bad_limits_show_beside_their_fields_and_keep_the_rows(user: Any, fields: dict, message: str) -> None:
    response = create(signed_in(user), rows=[("203.0.113.5", "office")], **fields)
    html = response.content.decode()
    assert response.status_code == 200 and message in html
    assert 'value="203.0.113.5"' in html, "the rows already entered are kept"
    assert ApiKey.objects.count() == 0


def test_the_limits_page_shows_usage_and_saves_a_change_as_an_audit_event(user: Any, make_key: Any, api: Any) -> None:
    key, secret = make_key(user, monthly_quota=10)
    for _ in range(3):
        api(secret).get("/api/v1/whoami")
    client = signed_in(user)
    assert "3 of 10 requests (30 %)" in client.get(limits_page(key)).content.decode()
    assert "3 of 10 requests (30 %)" in client.get("/settings/developer/").content.decode()

    response = client.post(
        limits_page(key), {"rate_limit_requests": "5", "rate_limit_per": "second", "monthly_quota": ""}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.rate_limit, key.monthly_quota) == ({"requests": 5, "per": "second"}, None)
    event = AuditEvent.objects.get(api_key=key, action="key.updated")
    assert (event.before["monthly_quota"], event.after["monthly_quota"]) == (10, None)


def test_a_bad_value_on_the_limits_page_changes_nothing(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, monthly_quota=10)
    response = signed_in(user).post(limits_page(key), {"rate_limit_requests": "5", "rate_limit_per": "day"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    key.refresh_from_db()
    assert (key.rate_limit, key.monthly_quota) == (None, 10)


def test_a_viewer_sees_the_limits_but_cannot_change_them(make_key: Any) -> None:
    team = make_team()
    key, _ = make_key(
        team.members["admin"], workspace_id=team.workspace.pk, rate_limit={"requests": 3, "per": "minute"}
    )
    viewer = member_session(team.members["viewer"], team.workspace)
    html = viewer.get(limits_page(key)).content.decode()
    assert "3 requests per minute" in html and "Save limits" not in html
    assert viewer.post(limits_page(key), {"rate_limit_requests": "", "rate_limit_per": ""}).status_code == 403
    key.refresh_from_db()
    assert key.rate_limit == {"requests": 3, "per": "minute"}


def test_the_keys_table_says_when_a_key_has_no_limits(user: Any, make_key: Any) -> None:
    make_key(user)
    assert "No limits" in signed_in(user).get("/settings/developer/").content.decode()


def test_the_key_history_says_what_a_limits_change_did(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, monthly_quota=10)
    client = signed_in(user)
    client.post(limits_page(key), {"rate_limit_requests": "5", "rate_limit_per": "second", "monthly_quota": "20"})
    html = client.get(f"/settings/developer/keys/{key.pk}/allowlist/").content.decode()
    assert "rate limit: none → 5/second; monthly quota: 10 → 20" in html
