"""Suggestions and simulation (SPEC §15): from the key's logged traffic, writing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import AllowlistEntry, AuditEvent
from tests.browser.helpers import seed_log
from workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def traffic(user: Any, key: Any) -> None:
    """Three addresses used the key this week; one of them also a month ago; a wrong secret from a fourth."""
    for _ in range(5):
        seed_log(user, key, ip="203.0.113.5", decision="would_block")
    for _ in range(3):
        seed_log(user, key, ip="203.0.113.9", decision="would_block")
    seed_log(user, key, ip="2001:db8::7", decision="allowed", at=timezone.now() - timedelta(days=2))
    seed_log(user, key, ip="198.51.100.1", decision="would_block", at=timezone.now() - timedelta(days=30))
    seed_log(user, key, ip="192.0.2.66", status=401, decision="none", error="INVALID_API_KEY")


def session(user: Any) -> APIClient:
    """A signed-in browser session: its own requests are not the key's traffic."""
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def report_key(user: Any, make_key: Any) -> tuple[Any, str]:
    return make_key(user, name="Rollout", allow=["2001:db8::/48"], mode="report")


def test_suggestions_cover_the_weeks_addresses_and_say_which_are_covered(
    api: Any, user: Any, report_key: tuple[Any, str]
) -> None:
    key, _ = report_key
    traffic(user, key)
    response = session(user).get(f"/api/v1/keys/{key.pk}/allowlist/suggestions?days=7")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["days"], body["requests"], body["addresses"]) == (7, 9, 3)
    entries = {e["cidr"]: e for e in body["entries"]}
    assert set(entries) == {"203.0.113.5/32", "203.0.113.9/32", "2001:db8::7/128"}
    assert entries["203.0.113.5/32"]["requests"] == 5
    assert entries["203.0.113.5/32"]["addresses"] == 1
    assert entries["203.0.113.5/32"]["covered"] is False
    assert entries["2001:db8::7/128"]["covered"] is True
    assert entries["2001:db8::7/128"]["first_seen"] == entries["2001:db8::7/128"]["last_seen"]
    assert body["left_out"] == {"addresses": 0, "requests": 0}
    # Thirty days reach the older address too.
    month = session(user).get(f"/api/v1/keys/{key.pk}/allowlist/suggestions?days=31").json()
    assert "198.51.100.1/32" in {e["cidr"] for e in month["entries"]}


def test_simulation_counts_what_a_list_would_block_and_writes_nothing(
    api: Any, user: Any, report_key: tuple[Any, str]
) -> None:
    key, _ = report_key
    traffic(user, key)
    client = session(user)
    events = AuditEvent.objects.count()
    url = f"/api/v1/keys/{key.pk}/allowlist/simulate"

    current = client.post(url, {}, format="json").json()
    assert (current["requests"], current["allowed"], current["blocked"]) == (9, 1, 8)
    assert current["blocked_address_count"] == 2
    assert [(row["ip"], row["requests"]) for row in current["addresses_blocked"]] == [
        ("203.0.113.5", 5),
        ("203.0.113.9", 3),
    ]
    proposal = client.post(url, {"entries": [{"cidr": "203.0.113.0/24"}], "days": 7}, format="json").json()
    assert (proposal["blocked"], [row["ip"] for row in proposal["addresses_blocked"]]) == (1, ["2001:db8::7"])
    assert client.post(url, {"entries": []}, format="json").json()["blocked"] == 0
    # An entry outside its window lets nothing in.
    later = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = client.post(url, {"entries": [{"cidr": "203.0.113.0/24", "not_before": later}]}, format="json")
    assert scheduled.json()["blocked"] == 9

    assert list(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", flat=True)) == ["2001:db8::/48"]
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("method", "query", "body", "field", "code"),
    [
        pytest.param("get", "?days=0", None, "days", "MIN_VALUE", id="days-0"),
        pytest.param("get", "?days=91", None, "days", "MAX_VALUE", id="days-91"),
        pytest.param("get", "?days=week", None, "days", "INVALID", id="days-text"),
        pytest.param("post", "", {"days": 120}, "days", "MAX_VALUE", id="post-days-120"),
        pytest.param(
            "post", "", {"entries": [{"cidr": "10.0.0.0/8"}]}, "entries.0.cidr", "PREFIX_TOO_BROAD", id="broad"
        ),
        pytest.param(
            "post",
            "",
            {"entries": [{"cidr": "192.0.2.1"}, {"cidr": "203.0.113.5/24"}]},
            "entries.1.cidr",
            "HOST_BITS_SET",
            id="host-bits",
        ),
        pytest.param(
            "post",
            "",
            {"entries": [{"cidr": f"192.0.2.{n}"} for n in range(21)]},
            "entries",
            "TOO_MANY_ENTRIES",
            id="21-entries",
        ),
        pytest.param(
            "post",
            "",
            {"entries": [{"cidr": "192.0.2.1", "expires_at": "2000-01-02T00:00:00Z", "not_before": "2000-01-03"}]},
            "entries.0.expires_at",
            "INVALID_WINDOW",
            id="window-backwards",
        ),
        pytest.param("post", "", {"entries": "192.0.2.1"}, "entries", "INVALID_ENTRIES", id="not-a-list"),
        pytest.param("post", "", {"mode": "enforce"}, "mode", "UNKNOWN_FIELD", id="unknown"),
    ],
)
def test_bad_input_is_a_400_with_its_code_and_path(
    api: Any, report_key: tuple[Any, str], method: str, query: str, body: Any, field: str, code: str
) -> None:
    key, secret = report_key
    client = api(secret, ip="2001:db8::1")
    if method == "get":
        response = client.get(f"/api/v1/keys/{key.pk}/allowlist/suggestions{query}")
    else:
        response = client.post(f"/api/v1/keys/{key.pk}/allowlist/simulate", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [item["code"] for item in error["fields"][field]] == [code]


def test_another_workspaces_key_is_not_found(
    api: Any, user: Any, other_user: Any, make_key: Any, report_key: tuple[Any, str]
) -> None:
    theirs, _ = make_key(other_user, name="Theirs")
    _, secret = report_key
    client = api(secret, ip="2001:db8::1")
    assert client.get(f"/api/v1/keys/{theirs.pk}/allowlist/suggestions").json()["error"]["code"] == "NOT_FOUND"
    response = client.post(f"/api/v1/keys/{theirs.pk}/allowlist/simulate", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")


def test_a_read_only_key_may_run_both(api: Any, user: Any, make_key: Any) -> None:
    key, secret = make_key(user, name="Reader", scopes=["keys:read"])
    client = api(secret)
    assert client.get(f"/api/v1/keys/{key.pk}/allowlist/suggestions").status_code == 200
    assert client.post(f"/api/v1/keys/{key.pk}/allowlist/simulate", {}, format="json").status_code == 200
    _, logs_only = make_key(user, name="Logs", scopes=["logs:read"])
    refused = api(logs_only).post(f"/api/v1/keys/{key.pk}/allowlist/simulate", {}, format="json")
    assert refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_a_viewer_may_simulate_another_members_key(api: Any, user: Any, other_user: Any, make_key: Any) -> None:
    team = Workspace.objects.create(name="Payments team", slug="payments")
    Membership.objects.create(workspace=team, user=other_user, role="owner")
    Membership.objects.create(workspace=team, user=user, role="viewer")
    key, _ = make_key(other_user, name="payroll sync", workspace_id=team.pk)
    client = session(user)
    assert client.post("/settings/workspace/", {"workspace": "payments"}).status_code == 302
    events = AuditEvent.objects.count()
    response = client.post(f"/api/v1/keys/{key.pk}/allowlist/simulate", {"entries": []}, format="json")
    assert response.status_code == 200, response.json()
    assert AuditEvent.objects.count() == events
