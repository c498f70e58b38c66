"""A key reported leaked, in Chromium: the editor's containment banner, and Undo containment."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apikeys.models import ApiKey
from apikeys.services.leaks import contain_leaked_key

from .helpers import screenshot, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_restricted_key_shows_its_banner_and_undo_restores_its_list(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="billing sync", allow=[("198.51.100.0/24", "old office")], mode="report")
    seed_log(user, key, ip="203.0.113.5", status=200, decision="would_block")
    contain_leaked_key(key_id=key.pk, source="https://github.com/acme/billing/blob/main/.env")

    page = sign_in(user)
    page.goto(f"/settings/developer/keys/{key.pk}/allowlist/")
    banner = page.get_by_role("status").filter(has_text="This key was reported leaked")
    expect(banner).to_contain_text("https://github.com/acme/billing/blob/main/.env")
    expect(banner).to_contain_text("pinned to the addresses it was used from")
    expect(page.get_by_role("textbox", name="IP address or CIDR").first).to_have_value("203.0.113.5/32")
    expect(page.get_by_role("cell", name="secret scanning").first).to_be_visible()
    screenshot(page, "leak-containment.png")

    page.get_by_role("button", name="Undo containment").click()
    expect(page.get_by_text("The containment of billing sync was undone")).to_be_visible()
    expect(page.get_by_role("button", name="Undo containment")).to_have_count(0)
    expect(page.get_by_role("textbox", name="IP address or CIDR").first).to_have_value("198.51.100.0/24")
    key = ApiKey.objects.get(pk=key.pk)
    assert key.allowlist_mode == "report"
