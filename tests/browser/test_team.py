"""Two people share a workspace, each in their own Chromium window, doing everything by the pages.

Mallory makes a team workspace and adds Alice as a viewer. Alice sees Mallory's key, its logs and
its history, but nothing that changes it. Mallory then requires an allowlist on every key and
makes Alice a developer; Alice's key without entries is refused with the policy's message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from apikeys.models import ApiKey
from workspaces.models import Membership

from .helpers import DESKTOP, seed_log, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_window(pw_chromium: Any, live_server: Any) -> Iterator[Any]:
    """Another browser context: a second person at their own computer."""
    context = pw_chromium.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def signed_in(context: Any, live_server: Any, user: Any) -> Any:
    context.add_cookies(session_cookies(user, live_server.url))
    return context.new_page()


def switch(page: Any, label: str) -> None:
    page.goto("/settings/developer/")
    page.get_by_label("Workspace").select_option(label=label)
    page.get_by_role("button", name="Switch").click()


def test_a_viewer_and_an_admin_share_a_workspace(
    browser_page: Any, second_window: Any, live_server: Any, sign_in: Any, user: Any, other_user: Any
) -> None:
    # Mallory: a new workspace, a key in it, and Alice as a viewer.
    mallory = sign_in(other_user)
    mallory.goto("/settings/workspace/new/")
    mallory.get_by_label("Name").fill("Payments")
    mallory.get_by_role("button", name="Create workspace").click()
    mallory.get_by_role("button", name="Create API Key").click()
    mallory.get_by_label("Name", exact=True).fill("payroll sync")
    mallory.get_by_role("button", name="Add IP").click()
    mallory.get_by_role("textbox", name="IP address or CIDR").fill("203.0.113.0/24")
    mallory.get_by_role("button", name="Create", exact=True).click()
    expect(mallory.get_by_text("It will not be shown again")).to_be_visible()
    key = ApiKey.objects.get(name="payroll sync")
    seed_log(other_user, key, ip="198.51.100.7", status=403, decision="blocked", error="IP_NOT_ALLOWED")

    mallory.goto("/settings/members/")
    mallory.get_by_label("Username or e-mail").fill("alice")
    mallory.get_by_label("Role", exact=True).select_option("viewer")
    mallory.get_by_role("button", name="Add member").click()
    expect(mallory.get_by_role("status")).to_contain_text("alice was added to Payments as viewer")

    # Alice, in her own window: she sees the key, its log row and its history, and no control.
    alice = signed_in(second_window, live_server, user)
    switch(alice, "Payments (viewer)")
    expect(alice.get_by_role("row", name=re.compile("payroll sync"))).to_contain_text("mallory")
    expect(alice.get_by_role("button", name="Create API Key")).to_have_count(0)
    alice.get_by_role("button", name="Actions for payroll sync").click()
    expect(alice.get_by_role("menuitem", name="Revoke")).to_have_count(0)
    alice.get_by_role("menuitem", name="IP Allowlist").click()
    expect(alice.get_by_role("cell", name="203.0.113.0/24")).to_be_visible()
    expect(alice.get_by_role("button", name="Save")).to_have_count(0)
    expect(alice.get_by_role("cell", name="Key created")).to_be_visible()
    alice.get_by_role("link", name="API Usage Logs").click()
    expect(alice.get_by_role("cell", name="198.51.100.7").first).to_be_visible()

    # Mallory requires an allowlist on every key and makes Alice a developer.
    mallory.goto("/settings/developer/policies/")
    mallory.get_by_role("checkbox", name="Require an IP allowlist on every key").check()
    mallory.get_by_role("button", name="Save", exact=True).click()
    expect(mallory.get_by_text("The policies were saved.")).to_be_visible()
    mallory.goto("/settings/members/")
    alices_row = mallory.get_by_role("row", name=re.compile("alice"))
    alices_row.get_by_label("Role of alice").select_option("developer")
    alices_row.get_by_role("button", name="Change role").click()
    expect(mallory.get_by_role("status")).to_contain_text("alice is now developer.")

    # Alice now may create keys, but not one without entries.
    alice.goto("/settings/developer/")
    alice.get_by_role("button", name="Create API Key").click()
    alice.get_by_label("Name", exact=True).fill("alice's script")
    for remove in alice.get_by_role("button", name="Remove").all()[::-1]:
        remove.click()
    alice.get_by_role("button", name="Create", exact=True).click()
    expect(alice.get_by_role("alert").first).to_contain_text("Nothing was created")
    expect(alice.locator("[data-entry-editor]").get_by_role("alert")).to_have_text(
        "This workspace requires every key to have at least one IP allowlist entry."
    )
    expect(alice.get_by_label("Name", exact=True)).to_have_value("alice's script")
    assert not ApiKey.objects.filter(name="alice's script").exists()
    assert Membership.objects.get(workspace__name="Payments", user=user).role == "developer"
