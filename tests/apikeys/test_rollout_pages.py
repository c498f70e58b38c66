"""The editor's rollout assistant without JavaScript: Add my IP for a while, Check, Suggest; only Save applies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.models import AllowlistEntry
from tests.browser.helpers import seed_log

pytestmark = pytest.mark.django_db


def editor(user: Any, key: Any) -> tuple[Client, str]:
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(user)
    return client, f"/settings/developer/keys/{key.pk}/allowlist/"


def rows(*items: dict[str, str], mode: str = "report", **extra: str) -> dict[str, str]:
    data = {"entries-TOTAL_FORMS": str(len(items)), "entries-INITIAL_FORMS": "0", "mode": mode, **extra}
    for index, item in enumerate(items):
        for field in ("cidr", "label", "not_before", "expires_at"):
            data[f"entries-{index}-{field}"] = item.get(field, "")
    return data


def words(response: Any) -> str:
    """The page's text with runs of whitespace as one space, as a reader sees it."""
    return " ".join(response.content.decode().split())


def stored(key: Any) -> list[str]:
    return sorted(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", flat=True))


def test_add_my_ip_for_a_day_fills_a_row_that_expires_and_save_stores_the_window(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    client, url = editor(user, key)
    html = client.post(url, rows({"cidr": "203.0.113.0/24"}, row_action="addmine:192.0.2.10", my_ip_duration="86400"))
    text = words(html)
    assert 'value="192.0.2.10"' in text and "Temporary: matches until" in text
    expiry = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{expiry}' in text
    saved = client.post(url, rows({"cidr": "203.0.113.0/24"}, {"cidr": "192.0.2.10", "expires_at": f"{expiry}:00"}))
    assert saved.status_code == 302
    entry = AllowlistEntry.objects.get(api_key=key, cidr="192.0.2.10/32")
    assert entry.expires_at is not None and entry.status == "active"
    page = words(client.get(url))
    assert "Temporary: matches until" in page and f'value="{expiry}' in page


def test_a_scheduled_and_an_expired_row_say_so(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    AllowlistEntry.objects.create(api_key=key, cidr="198.51.100.0/24", not_before=timezone.now() + timedelta(days=2))
    AllowlistEntry.objects.create(api_key=key, cidr="192.0.2.0/24", expires_at=timezone.now() - timedelta(hours=1))
    client, url = editor(user, key)
    page = words(client.get(url))
    assert "Scheduled: starts matching" in page and "Expired " in page and "counts toward the limit" in page


def test_check_replays_the_rows_as_typed_and_saves_nothing(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"], mode="report")
    for ip, count in (("203.0.113.5", 4), ("198.51.100.7", 2), ("198.51.100.8", 1)):
        for _ in range(count):
            seed_log(user, key, ip=ip, decision="would_block")
    client, url = editor(user, key)
    page = client.post(url, rows({"cidr": "203.0.113.0/24"}, {"cidr": "198.51.100.7"}, row_action="check"))
    text = words(page)
    assert "This list would have blocked 1 of 7 requests from 1 address in the last 7 days." in text
    assert 'value="add:198.51.100.8"' in text and 'value="198.51.100.7"' in text
    empty = words(client.post(url, rows(row_action="check")))
    assert "An empty list allows every address: none of the 7 requests" in empty
    wrong = words(client.post(url, rows({"cidr": "10.0.0.0/8"}, row_action="check")))
    assert "Correct the entries marked above" in wrong and 'data-code="PREFIX_TOO_BROAD"' in wrong
    assert stored(key) == ["203.0.113.0/24"]


def test_suggest_fills_the_rows_for_a_report_only_key_and_only_save_applies_them(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, mode="report")
    for ip in ("203.0.113.5", "203.0.113.9", "2001:db8::1"):
        seed_log(user, key, ip=ip, decision="unrestricted")
    client, url = editor(user, key)
    assert "Suggest entries" in client.get(url).content.decode()
    text = words(client.post(url, rows(row_action="suggest")))
    assert "Filled 3 suggested entries covering 3 requests from 3 addresses" in text
    for cidr in ("203.0.113.5/32", "203.0.113.9/32", "2001:db8::1/128"):
        assert f'value="{cidr}"' in text
    assert stored(key) == []
    enforced, _ = make_key(user, name="Enforced", allow=["192.0.2.1"])
    assert "Suggest entries" not in editor(user, enforced)[0].get(editor(user, enforced)[1]).content.decode()
