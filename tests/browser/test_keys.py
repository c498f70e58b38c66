"""Signing in, creating a key and seeing its secret once, the three-dot menu, roll and revoke."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from rest_framework.test import APIClient

from apikeys.models import ApiKey

from .helpers import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY_PATTERN = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")


def whoami(secret: str, ip: str) -> Any:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/api/v1/whoami")


def test_sign_in_then_sign_out(browser_page: Any, user: Any) -> None:
    page = browser_page
    page.goto("/settings/developer/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/settings/developer/$"))
    screenshot(page, "login.png")

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_have_text(re.compile(r"Settings\s*>?\s*Developer"))
    expect(page.get_by_role("link", name="API Keys")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="API Usage Logs")).to_be_visible()
    expect(page.get_by_text("Signed in as alice")).to_be_visible()
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/settings/developer/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_create_key_with_two_entries_then_the_api_allows_one_ip_and_blocks_another(
    browser_page: Any, sign_in: Any, user: Any, live_server: Any
) -> None:
    page = sign_in(user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto("/settings/developer/")
    page.get_by_role("button", name="Create API Key").click()
    expect(page.get_by_role("heading", name="Create API Key")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Deploy bot")
    page.get_by_label("Description").fill("Runs the nightly deploy")
    page.get_by_role("checkbox", name=re.compile("keys:read")).check()
    add_ip = page.get_by_role("button", name="Add IP", exact=True)
    add_ip.click()
    add_ip.click()
    addresses = page.get_by_role("textbox", name="IP address or CIDR")
    labels = page.get_by_role("textbox", name="Label", exact=True)
    expect(addresses).to_have_count(2)
    addresses.nth(0).fill("203.0.113.5")
    labels.nth(0).fill("Office")
    addresses.nth(1).fill("198.51.100.0/24")
    labels.nth(1).fill("CI runners")
    expect(page.get_by_text("2 of 20")).to_be_visible()
    screenshot(page, "create-key.png")

    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    secret = page.locator("#new-key").inner_text().strip()
    assert KEY_PATTERN.fullmatch(secret)
    # The address bar already points at the list, so that a reload is a plain GET.
    expect(page).to_have_url(f"{live_server.url}/settings/developer/")
    screenshot(page, "key-created.png")

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    key = ApiKey.objects.get()
    assert sorted(key.entries.values_list("cidr", "label")) == [
        ("198.51.100.0/24", "CI runners"),
        ("203.0.113.5/32", "Office"),
    ]
    assert whoami(secret, "203.0.113.5").status_code == 200
    assert whoami(secret, "198.51.100.77").status_code == 200
    refused = whoami(secret, "192.0.2.10")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "IP_NOT_ALLOWED"


def test_the_secret_is_shown_once_not_on_reload_or_back(browser_page: Any, sign_in: Any, user: Any) -> None:
    page = sign_in(user)
    page.goto("/settings/developer/keys/new/")
    page.get_by_label("Name", exact=True).fill("Once only")
    page.get_by_role("button", name="Create", exact=True).click()
    secret = page.locator("#new-key").inner_text().strip()
    assert KEY_PATTERN.fullmatch(secret)

    page.reload()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_visible()
    assert secret not in page.content()

    page.go_back()
    expect(page.get_by_role("heading", name="Create API Key")).to_be_visible()
    assert secret not in page.content()
    page.go_forward()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_visible()
    assert secret not in page.content()
    assert ApiKey.objects.filter(name="Once only").count() == 1


def test_leaving_the_secret_page_then_going_back_does_not_show_it(browser_page: Any, sign_in: Any, user: Any) -> None:
    page = sign_in(user)
    page.goto("/settings/developer/keys/new/")
    page.get_by_label("Name", exact=True).fill("Back button")
    page.get_by_role("button", name="Create", exact=True).click()
    secret = page.locator("#new-key").inner_text().strip()
    page.get_by_role("link", name="Edit IP Allowlist").click()
    expect(page.get_by_role("heading", name="IP Allowlist", level=1)).to_be_visible()
    page.go_back()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="API key created")).to_have_count(0)
    assert secret not in page.content()
    assert ApiKey.objects.filter(name="Back button").count() == 1


def _seed_keys(make_key: Any, user: Any) -> dict[str, ApiKey]:
    build, _ = make_key(user, name="Build server", allow=["203.0.113.0/24", "198.51.100.7"])
    build.last_used_at, build.last_used_ip = timezone.now() - timedelta(minutes=5), "203.0.113.40"
    build.save(update_fields=["last_used_at", "last_used_ip"])
    staging, _ = make_key(user, name="Staging", scopes=["logs:read"], allow=["192.0.2.0/24"], mode="report")
    laptop, _ = make_key(user, name="Laptop", scopes=[])
    old, _ = make_key(user, name="Old integration", allow=["198.51.100.0/24"])
    ApiKey.objects.filter(pk=old.pk).update(revoked_at=timezone.now())
    return {"build": build, "staging": staging, "laptop": laptop, "old": old}


def test_keys_table_and_the_actions_menu_from_the_keyboard(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    keys = _seed_keys(make_key, user)
    page = sign_in(user)
    page.goto("/settings/developer/")
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("Build server"))).to_contain_text("2 entries")
    expect(table.get_by_role("row", name=re.compile("Build server"))).to_contain_text("203.0.113.40")
    expect(table.get_by_role("row", name=re.compile("Staging"))).to_contain_text("Report only")
    expect(table.get_by_role("row", name=re.compile("Laptop"))).to_contain_text("Unrestricted")
    expect(table.get_by_role("row", name=re.compile("Old integration"))).to_contain_text("revoked")
    screenshot(page, "developer.png")

    button = page.get_by_role("button", name="Actions for Build server")
    expect(button).to_have_attribute("aria-haspopup", "menu")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("menu")).to_be_visible()
    expect(page.get_by_role("menuitem")).to_have_text(["IP Allowlist", "Roll key", "Revoke"])
    expect(page.get_by_role("menuitem", name="IP Allowlist")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Roll key")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="IP Allowlist")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("menuitem", name="Revoke")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    page.keyboard.press(" ")
    expect(page.get_by_role("menuitem", name="IP Allowlist")).to_be_focused()
    page.get_by_role("heading", name="API Keys", level=1).click()
    expect(page.get_by_role("menu")).to_have_count(0)

    button.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/settings/developer/keys/{keys['build'].pk}/allowlist/$"))


def test_roll_then_revoke_from_the_menu(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    _key, old_secret = make_key(user, name="Rotating")
    page = sign_in(user)
    page.goto("/settings/developer/")
    page.get_by_role("button", name="Actions for Rotating").click()
    page.get_by_role("menuitem", name="Roll key").click()
    expect(page.get_by_role("heading", name="Roll key Rotating?")).to_be_visible()
    page.get_by_role("button", name="Roll key").click()
    expect(page.get_by_role("heading", name="Key rolled")).to_be_visible()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    new_secret = page.locator("#new-key").inner_text().strip()
    assert KEY_PATTERN.fullmatch(new_secret) and new_secret != old_secret
    assert whoami(old_secret, "203.0.113.5").status_code == 401
    assert whoami(new_secret, "203.0.113.5").status_code == 200
    page.reload()
    assert new_secret not in page.content()

    page.get_by_role("button", name="Actions for Rotating").click()
    page.get_by_role("menuitem", name="Revoke").click()
    expect(page.get_by_role("heading", name="Revoke Rotating?")).to_be_visible()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Rotating was revoked")
    expect(page.get_by_role("row", name=re.compile("Rotating"))).to_contain_text("revoked")
    refused = whoami(new_secret, "203.0.113.5")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "API_KEY_REVOKED"
