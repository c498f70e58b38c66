"""Temporary and scheduled entries (SPEC §15): stored, listed with their status, enforced at request time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apikeys import matching
from apikeys.matching import compile_allowlist
from apikeys.models import AuditEvent
from apikeys.networks import parse_client_address

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_an_entry_matches_only_inside_its_window_and_falls_back_to_a_wider_permanent_one() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    compiled = compile_allowlist(
        [
            ("office", "203.0.113.0/24", None, None),
            ("laptop", "203.0.113.5/32", now - HOUR, now + HOUR),
            ("nat", "198.51.100.0/24", now + HOUR, None),
        ]
    )
    laptop, nat = parse_client_address("203.0.113.5"), parse_client_address("198.51.100.9")
    assert compiled.match(laptop, now.timestamp()) == "laptop"
    assert compiled.match(laptop, (now + HOUR).timestamp()) == "office"  # expires_at itself is outside
    assert compiled.match(nat, now.timestamp()) is None
    assert compiled.match(nat, (now + HOUR).timestamp()) == "nat"
    assert not compiled.unrestricted


def test_put_stores_windows_lists_their_status_and_records_them_in_the_audit_event(
    api: Any, user: Any, make_key: Any
) -> None:
    key, secret = make_key(user, allow=["127.0.0.1"])
    now = timezone.now()
    entries = [
        {"cidr": "127.0.0.1"},
        {"cidr": "203.0.113.0/24", "label": "new NAT", "not_before": iso(now + HOUR)},
        {"cidr": "198.51.100.0/24", "label": "old NAT", "expires_at": iso(now - HOUR)},
        {"cidr": "192.0.2.7", "not_before": iso(now - HOUR), "expires_at": iso(now + HOUR)},
    ]
    response = api(secret).put(f"/api/v1/keys/{key.pk}/allowlist", {"entries": entries}, format="json")
    assert response.status_code == 200, response.json()
    listed = {e["cidr"]: e for e in response.json()["entries"]}
    assert [listed[c]["status"] for c in ("127.0.0.1/32", "203.0.113.0/24", "198.51.100.0/24", "192.0.2.7/32")] == [
        "active",
        "scheduled",
        "expired",
        "active",
    ]
    assert listed["203.0.113.0/24"]["not_before"] is not None and listed["127.0.0.1/32"]["expires_at"] is None
    event = AuditEvent.objects.filter(api_key=key, action="allowlist.replaced").get()
    after = {item["cidr"]: item for item in event.after["allowlist"]}
    assert after["203.0.113.0/24"]["not_before"].startswith(iso(now + HOUR)[:19])
    assert "expires_at" in after["198.51.100.0/24"] and "not_before" not in after["127.0.0.1/32"]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        pytest.param(
            {"not_before": "2026-05-02T00:00:00Z", "expires_at": "2026-05-01T00:00:00Z"}, "expires_at", id="ends-first"
        ),
        pytest.param(
            {"not_before": "2026-05-01T00:00:00Z", "expires_at": "2026-05-01T00:00:00Z"}, "expires_at", id="empty"
        ),
        pytest.param({"expires_at": "2099-01-01T00:00:00Z"}, "expires_at", id="over-a-year"),
        pytest.param({"not_before": "tomorrow"}, "not_before", id="not-a-time"),
        pytest.param({"expires_at": 1767225600}, "expires_at", id="a-number"),
    ],
)
def test_bad_windows_are_invalid_window_with_their_path(
    api: Any, user: Any, make_key: Any, entry: dict[str, Any], field: str
) -> None:
    key, secret = make_key(user, allow=["127.0.0.1"])
    body = {"entries": [{"cidr": "127.0.0.1"}, {"cidr": "192.0.2.1", **entry}]}
    response = api(secret).put(f"/api/v1/keys/{key.pk}/allowlist", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][f"entries.1.{field}"][0]["code"] == "INVALID_WINDOW"
    added = api(secret).post(f"/api/v1/keys/{key.pk}/allowlist", {"cidr": "192.0.2.1", **entry}, format="json")
    assert added.status_code == 400
    assert added.json()["error"]["fields"][field][0]["code"] == "INVALID_WINDOW"


def test_a_temporary_entry_stops_admitting_at_its_expiry_without_any_change_to_the_key(
    api: Any, user: Any, make_key: Any, monkeypatch: Any
) -> None:
    key, secret = make_key(user, allow=["192.0.2.1"])
    expiry = timezone.now() + HOUR
    added = api(secret, ip="192.0.2.1").post(
        f"/api/v1/keys/{key.pk}/allowlist", {"cidr": "198.51.100.7", "expires_at": iso(expiry)}, format="json"
    )
    assert added.status_code == 201 and added.json()["status"] == "active"
    client = api(secret, ip="198.51.100.7")
    assert client.get("/api/v1/whoami").status_code == 200
    version = type(key).objects.get(pk=key.pk).version
    monkeypatch.setattr(matching, "_clock", lambda: expiry.timestamp() + 1)
    refused = client.get("/api/v1/whoami")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "IP_NOT_ALLOWED")
    assert type(key).objects.get(pk=key.pk).version == version


def test_patch_changes_and_removes_a_window(api: Any, user: Any, make_key: Any) -> None:
    key, secret = make_key(user, allow=["127.0.0.1", "192.0.2.1"])
    entry = key.entries.get(cidr="192.0.2.1/32")
    url = f"/api/v1/keys/{key.pk}/allowlist/{entry.pk}"
    later = timezone.now() + timedelta(days=2)
    changed = api(secret).patch(url, {"not_before": iso(later)}, format="json").json()
    assert changed["status"] == "scheduled"
    assert api(secret).patch(url, {"not_before": None}, format="json").json()["status"] == "active"
