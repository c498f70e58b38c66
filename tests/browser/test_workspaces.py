"""Workspaces in Chromium: New workspace, the header's switcher, and a viewer who sees a shared
workspace's keys, logs and history but is offered nothing that changes them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from workspaces.models import Membership, Workspace

from .helpers import screenshot, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_workspace_then_switch_back(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    make_key(user, name="personal script")
    page = sign_in(user)
    page.goto("/settings/developer/")
    switcher = page.get_by_label("Workspace")
    expect(switcher).to_have_value("alice")

    page.get_by_role("link", name="New workspace").click()
    page.get_by_label("Name").fill("Payments team")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_text("Payments team was created, and you are its owner.")).to_be_visible()
    expect(page.get_by_label("Workspace")).to_have_value("payments-team")
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
    expect(page.get_by_text("personal script")).to_have_count(0)
    screenshot(page, "workspace-switcher.png")

    page.get_by_label("Workspace").select_option("alice")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("rowheader", name=re.compile("personal script"))).to_be_visible()
    assert Membership.objects.get(workspace__slug="payments-team", user=user).role == "owner"


def test_a_viewer_sees_a_shared_workspace_but_may_not_change_it(
    browser_page: Any, sign_in: Any, user: Any, other_user: Any, make_key: Any
) -> None:
    team = Workspace.objects.create(name="Payments team", slug="payments")
    Membership.objects.create(workspace=team, user=other_user, role="owner")
    Membership.objects.create(workspace=team, user=user, role="viewer")
    key, _ = make_key(
        other_user, name="payroll sync", allow=[("203.0.113.0/24", "payroll office")], workspace_id=team.pk
    )
    seed_log(other_user, key, ip="198.51.100.7", status=403, decision="blocked", error="IP_NOT_ALLOWED")

    page = sign_in(user)
    page.goto("/settings/developer/")
    page.get_by_label("Workspace").select_option("payments")
    page.get_by_role("button", name="Switch").click()
    row = page.get_by_role("row", name=re.compile("payroll sync"))
    expect(row).to_contain_text("mallory")
    expect(page.get_by_role("button", name="Create API Key")).to_have_count(0)

    page.get_by_role("button", name="Actions for payroll sync").click()
    expect(page.get_by_role("menuitem", name="IP Allowlist")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Roll key")).to_have_count(0)
    expect(page.get_by_role("menuitem", name="Revoke")).to_have_count(0)

    page.get_by_role("menuitem", name="IP Allowlist").click()
    expect(page.get_by_role("cell", name="payroll office")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Add 198.51.100.7")).to_have_count(0)
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_role("cell", name="Key created")).to_be_visible()

    page.goto("/settings/developer/logs/")
    expect(page.get_by_role("cell", name="198.51.100.7").first).to_be_visible()

    page.goto(f"/settings/developer/keys/{key.pk}/revoke/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("INSUFFICIENT_ROLE")).to_be_visible()
    key.refresh_from_db()
    assert key.revoked_at is None
