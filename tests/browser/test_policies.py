"""Settings > Developer > Policies in Chromium: an admin requires an allowlist, and the create form
then refuses a key without entries, inline, keeping what was typed. The page works from the
keyboard, fits 375 px, passes axe and runs under the CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from apikeys.models import ApiKey, AuditEvent
from apikeys.policy_rules import MESSAGES
from apikeys.services import policy_for
from tests.policy_helpers import make_team, set_policy

from .axe import assert_accessible
from .helpers import screenshot, scroll_width, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
COLLECT_CSP_VIOLATIONS = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def test_an_admin_requires_an_allowlist_then_a_key_without_entries_is_refused_inline(
    browser_page: Any, sign_in: Any, user: Any
) -> None:
    page = sign_in(user)
    page.add_init_script(COLLECT_CSP_VIOLATIONS)
    page.goto("/settings/developer/")
    page.get_by_role("link", name="Policies").click()
    expect(page.get_by_role("heading", name="Policies", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Policies")).to_have_attribute("aria-current", "page")

    # From the keyboard: focus the switch, tick it with Space, save with Enter.
    require = page.get_by_role("checkbox", name="Require an IP allowlist on every key")
    require.focus()
    page.keyboard.press("Space")
    expect(require).to_be_checked()
    page.get_by_role("button", name="Add IP", exact=True).click()
    page.get_by_role("textbox", name="IP address or CIDR").fill("203.0.113.0/24")
    page.get_by_role("textbox", name="Label", exact=True).fill("Office")
    page.get_by_label("Longest key lifetime, in days").fill("90")
    screenshot(page, "policies.png")
    page.get_by_role("button", name="Save", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The policies were saved.")).to_be_visible()
    policy = policy_for(user.personal_workspace.pk)
    assert policy.require_allowlist and policy.max_key_lifetime_days == 90
    assert policy.default_allowlist == [{"cidr": "203.0.113.0/24", "label": "Office"}]
    assert AuditEvent.objects.filter(action="policy.changed").count() == 1

    page.get_by_role("link", name="API Keys").click()
    page.get_by_role("button", name="Create API Key").click()
    # The form starts with the default allowlist and the longest lifetime.
    expect(page.get_by_role("textbox", name="IP address or CIDR")).to_have_value("203.0.113.0/24")
    expect(page.get_by_label("Expires", exact=True)).to_have_value("90")
    page.get_by_label("Name", exact=True).fill("Deploy bot")
    page.get_by_label("Description").fill("Runs the nightly deploy")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("textbox", name="IP address or CIDR")).to_have_count(0)
    page.get_by_role("button", name="Create", exact=True).click()

    editor = page.locator("[data-entry-editor]")
    expect(editor.get_by_role("alert")).to_have_text(MESSAGES["ALLOWLIST_REQUIRED"])
    expect(page.get_by_role("heading", name="Create API Key")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Deploy bot")
    expect(page.get_by_label("Description")).to_have_value("Runs the nightly deploy")
    expect(page.get_by_label("Expires", exact=True)).to_have_value("90")
    assert not ApiKey.objects.exists()
    screenshot(page, "create-key-allowlist-required.png")

    # An entry in the kept form is enough.
    addresses = page.get_by_role("textbox", name="IP address or CIDR")
    if addresses.count() == 0:
        page.get_by_role("button", name="Add IP", exact=True).click()
    addresses.first.fill("198.51.100.7")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    assert list(ApiKey.objects.get().entries.values_list("cidr", flat=True)) == ["198.51.100.7/32"]
    assert page.evaluate("window.cspViolations") == []


def test_an_unrestricted_key_is_marked_in_the_table(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    make_key(user, name="Legacy export")
    page = sign_in(user)
    page.goto("/settings/developer/policies/")
    page.get_by_role("checkbox", name="Require an IP allowlist on every key").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.goto("/settings/developer/")
    row = page.get_by_role("row", name=re.compile("Legacy export"))
    expect(row.get_by_text("Breaks policy")).to_be_visible()
    expect(row.get_by_text("No IP allowlist entries, but this workspace requires them.")).to_be_visible()


def session_in(context: Any, live_server: Any, user: Any, workspace: Any) -> None:
    """Sign ``context`` in as ``user``, with ``workspace`` as the current workspace."""
    context.add_cookies(session_cookies(user, live_server.url, workspace=workspace))


def test_the_policies_page_fits_375px_for_admins_and_viewers(browser_page: Any, live_server: Any) -> None:
    team = make_team()
    set_policy(
        team.workspace.pk,
        require_allowlist=True,
        default_allowlist=[{"cidr": "2001:db8:abcd:12::/64", "label": "Frankfurt data centre, rack 12"}],
        max_key_lifetime_days=365,
        default_rate_limit={"requests": 1000, "per": "minute"},
    )
    page = browser_page
    page.set_viewport_size(PHONE)
    session_in(page.context, live_server, team.members["admin"], team.workspace)
    page.goto("/settings/developer/policies/")
    page.get_by_role("button", name="Add IP", exact=True).click()
    page.get_by_label("Longest key lifetime, in days").fill("0")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(MESSAGES["INVALID_LIFETIME"])).to_be_visible()
    assert scroll_width(page) <= PHONE["width"]

    page.context.clear_cookies()
    session_in(page.context, live_server, team.members["viewer"], team.workspace)
    page.goto("/settings/developer/policies/")
    expect(page.get_by_text("Only admins of this workspace can change its policies.")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_text("1000 requests per minute")).to_be_visible()
    screenshot(page, "policies-read-only-375.png")
    assert scroll_width(page) <= PHONE["width"]


def test_the_policies_page_passes_axe(axe_context: Any, live_server: Any, user: Any) -> None:
    axe_context.add_cookies(session_cookies(user, live_server.url))
    page = axe_context.new_page()
    page.goto("/settings/developer/policies/")
    assert_accessible(page, "the policies page")
    page.get_by_label("Revoke keys unused for this many days").fill("3")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(MESSAGES["INVALID_INACTIVE_DAYS"])).to_be_visible()
    assert_accessible(page, "the policies page with an error")
