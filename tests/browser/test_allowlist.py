"""The IP Allowlist editor: edit, add, remove, Save all at once, inline errors, my IP, blocked IPs, mode."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apikeys.models import AllowlistEntry

from .helpers import screenshot, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stored(key: Any) -> list[tuple[str, str]]:
    return sorted(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", "label"))


def open_editor(page: Any, key: Any) -> Any:
    page.goto(f"/settings/developer/keys/{key.pk}/allowlist/")
    expect(page.get_by_role("heading", name="IP Allowlist", level=1)).to_be_visible()
    return page.get_by_role("textbox", name="IP address or CIDR")


def save(page: Any) -> None:
    page.get_by_role("button", name="Save", exact=True).click()


def test_edit_add_and_remove_rows_then_save_applies_them_all(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="Build server", allow=["203.0.113.0/24", "198.51.100.7"])
    page = sign_in(user)
    addresses = open_editor(page, key)
    expect(addresses).to_have_count(2)
    expect(page.get_by_text("2 of 20")).to_be_visible()

    addresses.nth(0).fill("203.0.114.0/24")
    page.get_by_role("textbox", name="Label", exact=True).nth(0).fill("Office")
    page.get_by_role("group", name="Entry 2").get_by_role("button", name="Remove").click()
    expect(addresses).to_have_count(1)
    expect(page.get_by_text("1 of 20")).to_be_visible()
    page.get_by_role("button", name="Add IP", exact=True).click()
    expect(addresses.nth(1)).to_be_focused()
    addresses.nth(1).fill("2001:DB8::/48")
    expect(page.get_by_text("2 of 20")).to_be_visible()
    assert stored(key) == [("198.51.100.7/32", ""), ("203.0.113.0/24", "")]

    save(page)
    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    assert stored(key) == [("2001:db8::/48", ""), ("203.0.114.0/24", "Office")]
    expect(addresses).to_have_count(2)
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("row").nth(1)).to_contain_text("added 2001:db8::/48")


def test_cancel_drops_the_changes(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="Build server", allow=["203.0.113.0/24"])
    page = sign_in(user)
    addresses = open_editor(page, key)
    addresses.nth(0).fill("192.0.2.0/24")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_visible()
    assert stored(key) == [("203.0.113.0/24", "")]


def test_a_too_broad_range_is_refused_next_to_its_row_and_nothing_changes(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="Build server", allow=["203.0.113.0/24", "198.51.100.7"])
    page = sign_in(user)
    addresses = open_editor(page, key)
    addresses.nth(1).fill("10.0.0.0/8")
    page.get_by_role("button", name="Add IP", exact=True).click()
    addresses.nth(2).fill("192.0.2.9")
    save(page)

    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    bad_row = page.get_by_role("group", name="Entry 2")
    expect(bad_row).to_contain_text("too broad")
    bad_input = bad_row.get_by_role("textbox", name="IP address or CIDR")
    expect(bad_input).to_have_attribute("aria-invalid", "true")
    expect(bad_input).to_have_accessible_description(re.compile("too broad"))
    expect(page.get_by_role("group", name="Entry 1")).not_to_contain_text("too broad")
    expect(addresses).to_have_count(3)
    expect(addresses.nth(0)).to_have_value("203.0.113.0/24")
    expect(addresses.nth(1)).to_have_value("10.0.0.0/8")
    expect(addresses.nth(2)).to_have_value("192.0.2.9")
    assert stored(key) == [("198.51.100.7/32", ""), ("203.0.113.0/24", "")]


def test_add_my_ip_fills_the_address_the_server_sees(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="Laptop")
    page = sign_in(user)
    addresses = open_editor(page, key)
    expect(page.get_by_text("No entries: the key works from any IP address.")).to_be_visible()
    expect(page.get_by_text("Your current IP: 127.0.0.1")).to_be_visible()
    page.get_by_role("button", name="Add my IP").click()
    expect(addresses).to_have_count(1)
    expect(addresses.nth(0)).to_have_value("127.0.0.1")
    save(page)
    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    assert stored(key) == [("127.0.0.1/32", "")]


def test_add_an_address_from_the_recently_blocked_list(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="Build server", allow=["203.0.113.0/24", "203.0.113.5"])
    AllowlistEntry.objects.filter(api_key=key, cidr="203.0.113.0/24").update(last_matched_at=timezone.now())
    for minutes in (3, 30, 90):
        seed_log(
            user,
            key,
            ip="192.0.2.44",
            status=403,
            decision="blocked",
            error="IP_NOT_ALLOWED",
            at=timezone.now() - timedelta(minutes=minutes),
        )
    seed_log(user, key, ip="198.51.100.20", status=403, decision="blocked", error="IP_NOT_ALLOWED")
    seed_log(user, key, ip="192.0.2.99", status=403, decision="blocked", at=timezone.now() - timedelta(days=9))
    page = sign_in(user)
    addresses = open_editor(page, key)
    expect(page.get_by_role("group", name="Entry 2")).to_contain_text("203.0.113.5/32 lies inside 203.0.113.0/24")
    expect(page.get_by_role("group", name="Entry 1")).to_contain_text(re.compile(r"Last matched:\s+\d{4}-"))
    expect(page.get_by_role("group", name="Entry 2")).to_contain_text("Last matched: never")

    blocked = page.get_by_role("region", name="Recently blocked IPs")
    expect(blocked.get_by_role("row")).to_have_count(3)  # the header and two addresses, none older than 7 days
    row = blocked.get_by_role("row", name=re.compile("192.0.2.44"))
    expect(row.get_by_role("cell").nth(0)).to_have_text("3")
    row.get_by_role("button", name="Add").click()
    expect(addresses).to_have_count(3)
    expect(addresses.nth(2)).to_have_value("192.0.2.44")
    expect(addresses.nth(2)).to_be_focused()
    page.get_by_role("textbox", name="Label", exact=True).nth(2).fill("Partner VPN")
    screenshot(page, "allowlist.png")
    save(page)
    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    assert ("192.0.2.44/32", "Partner VPN") in stored(key)


def test_switch_to_report_only(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="Staging", allow=["203.0.113.0/24"])
    page = sign_in(user)
    open_editor(page, key)
    expect(page.get_by_role("radio", name="Enforce")).to_be_checked()
    expect(page.get_by_role("group", name="Mode")).to_contain_text("logs them as would_block")
    page.get_by_role("radio", name="Report only").check()
    save(page)
    expect(page.get_by_role("radio", name="Report only")).to_be_checked()
    key.refresh_from_db()
    assert key.allowlist_mode == "report"
    assert stored(key) == [("203.0.113.0/24", "")]
    page.get_by_role("link", name="API Keys", exact=True).click()
    expect(page.get_by_role("row", name=re.compile("Staging"))).to_contain_text("Report only")


def test_at_the_limit_add_ip_is_disabled_and_says_why(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="Full", allow=[f"198.51.100.{n}" for n in range(19)])
    page = sign_in(user)
    open_editor(page, key)
    add_ip = page.get_by_role("button", name="Add IP", exact=True)
    expect(page.get_by_text("19 of 20")).to_be_visible()
    add_ip.click()
    expect(page.get_by_text("20 of 20")).to_be_visible()
    expect(add_ip).to_be_disabled()
    expect(page.get_by_role("button", name="Add my IP")).to_be_disabled()
    expect(add_ip).to_have_accessible_description(re.compile("at most 20 entries"))
    page.get_by_role("group", name="Entry 20").get_by_role("button", name="Remove").click()
    expect(add_ip).to_be_enabled()
