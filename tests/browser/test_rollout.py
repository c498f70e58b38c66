"""The rollout assistant in the browser (SPEC §15): Add my IP for a while, Suggest entries, Check against
recent traffic with one-click Add, and Save as the one place that applies the list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from apikeys.models import AllowlistEntry, ApiKey

from .helpers import screenshot, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
THREE = ("203.0.113.5", "203.0.113.9", "198.51.100.23")


def stored(key: Any) -> list[str]:
    return sorted(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", flat=True))


def open_editor(page: Any, key: Any) -> Any:
    page.goto(f"/settings/developer/keys/{key.pk}/allowlist/")
    expect(page.get_by_role("heading", name="IP Allowlist", level=1)).to_be_visible()
    return page.get_by_role("textbox", name="IP address or CIDR")


def result(page: Any) -> Any:
    return page.get_by_role("region", name="Before you save").get_by_role("status")


def whoami(secret: str, ip: str) -> int:
    return Client(REMOTE_ADDR=ip).get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def test_suggest_check_and_save_roll_out_a_report_only_key(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, secret = make_key(user, name="Payments", mode="report")
    for ip, count in zip(THREE, (40, 25, 12), strict=True):
        for _ in range(count):
            seed_log(user, key, ip=ip, decision="unrestricted")
    page = sign_in(user)
    addresses = open_editor(page, key)
    expect(addresses).to_have_count(0)

    page.get_by_role("button", name="Suggest entries").click()
    expect(result(page)).to_contain_text("Filled 3 suggested entries covering 77 requests from 3 addresses")
    expect(addresses).to_have_count(3)
    assert sorted(addresses.evaluate_all("inputs => inputs.map(i => i.value)")) == [
        "198.51.100.23/32",
        "203.0.113.5/32",
        "203.0.113.9/32",
    ]
    assert stored(key) == []

    page.get_by_role("button", name="Check against recent traffic").click()
    expect(result(page)).to_contain_text("This list would have blocked 0 of 77 requests from 0 addresses")
    # Without the busiest address, the check names it, and one click puts it back.
    page.get_by_role("group", name="Entry 3").get_by_role("button", name="Remove").click()
    page.get_by_role("group", name="Entry 2").get_by_role("button", name="Remove").click()
    page.get_by_role("button", name="Check against recent traffic").click()
    expect(result(page)).to_contain_text("This list would have blocked 65 of 77 requests from 2 addresses")
    screenshot(page, "rollout-check.png")
    page.get_by_role("button", name="Add 203.0.113.5").click()
    expect(addresses).to_have_count(2)
    page.get_by_role("button", name="Check against recent traffic").click()
    expect(result(page)).to_contain_text("would have blocked 25 of 77 requests from 1 address")
    assert stored(key) == []

    page.get_by_role("radio", name="Enforce").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    assert stored(key) == ["198.51.100.23/32", "203.0.113.5/32"]
    assert ApiKey.objects.get(pk=key.pk).allowlist_mode == "enforce"
    assert (whoami(secret, "203.0.113.5"), whoami(secret, "203.0.113.9")) == (200, 403)


def test_add_my_ip_for_an_hour_shows_the_window_and_saves_it(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="Laptop", allow=["203.0.113.0/24"])
    page = sign_in(user)
    addresses = open_editor(page, key)
    page.get_by_label("For how long").select_option(label="1 hour")
    page.get_by_role("button", name="Add my IP").click()
    expect(addresses).to_have_count(2)
    expect(addresses.nth(1)).to_have_value("127.0.0.1")
    expires = page.get_by_role("group", name="Entry 2").get_by_label("Expires (UTC)")
    # A datetime-local value leaves out the seconds when they are zero.
    expect(expires).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$"))
    expect(page.get_by_role("status").filter(has_text="127.0.0.1 added until")).to_be_attached()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    entry = AllowlistEntry.objects.get(api_key=key, cidr="127.0.0.1/32")
    assert entry.expires_at is not None and entry.status == "active"
    expect(page.get_by_role("group", name="Entry 2")).to_contain_text("Temporary: matches until")
