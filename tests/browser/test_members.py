"""Settings > Members in Chromium: add a member, change their role, revoke one of their keys and
remove them; the pages fit 375 px, pass axe and run under the CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from rest_framework.test import APIClient

from apikeys.models import ApiKey, AuditEvent
from workspaces.models import Membership, Role, Workspace
from workspaces.services import workspace_create

from .axe import assert_accessible
from .helpers import screenshot, scroll_width, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
LONG_NAME = "Nightly export to the data warehouse in eu-west-1"
COLLECT_CSP_VIOLATIONS = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.fixture
def team(user: Any) -> Workspace:
    return workspace_create(owner_id=user.pk, name="Acme")


@pytest.fixture
def bob(db: Any) -> Any:
    return get_user_model().objects.create_user("bob", "bob@example.com", "a-long-passphrase")


def switch_to(page: Any, workspace: Workspace) -> None:
    """Make ``workspace`` current with the header's switcher."""
    page.goto("/settings/developer/")
    page.get_by_label("Workspace").select_option(label=f"{workspace.name} (owner)")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_label("Workspace")).to_have_value(workspace.slug)


def row(page: Any, username: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(rf"\b{username}\b")))


def test_an_owner_adds_changes_and_removes_a_member_revoking_one_of_their_keys(
    browser_page: Any, sign_in: Any, user: Any, bob: Any, team: Workspace, make_key: Any
) -> None:
    page = sign_in(user)
    page.add_init_script(COLLECT_CSP_VIOLATIONS)
    switch_to(page, team)
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Members")).to_have_attribute("aria-current", "page")

    # Add bob as a viewer, from the keyboard: type his e-mail and press Enter.
    page.get_by_label("Username or e-mail").fill("Bob@Example.com")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_label("Username or e-mail").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("bob was added to Acme as viewer")
    expect(row(page, "bob")).to_contain_text("bob@example.com")
    expect(row(page, "bob").get_by_label("Role of bob")).to_have_value("viewer")

    # Adding him again says why not, beside the field, and keeps what was typed.
    page.get_by_label("Username or e-mail").fill("bob")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("bob is already a member of this workspace.")).to_be_visible()
    expect(page.get_by_label("Username or e-mail")).to_have_value("bob")

    # Make him a developer.
    row(page, "bob").get_by_label("Role of bob").select_option("developer")
    row(page, "bob").get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_contain_text("bob is now developer.")
    expect(row(page, "bob").get_by_label("Role of bob")).to_have_value("developer")
    assert Membership.objects.get(workspace=team, user=bob).role == Role.DEVELOPER

    # As a developer, bob creates two keys in Acme.
    deploy, deploy_secret = make_key(bob, name="bob-deploy", scopes=["keys:read"], workspace_id=team.pk)
    ci, _ = make_key(bob, name="bob-ci", scopes=["keys:read"], workspace_id=team.pk)
    page.reload()
    screenshot(page, "members.png")

    # Remove him: the confirmation lists his keys; revoke one of them, then remove him.
    row(page, "bob").get_by_role("link", name="Remove").click()
    expect(page.get_by_role("heading", name="Remove bob from Acme?")).to_be_visible()
    keys = page.get_by_role("table", name="Active keys bob created in Acme")
    expect(keys.get_by_role("rowheader")).to_have_text(["bob-ci", "bob-deploy"])
    screenshot(page, "member-remove.png")
    keys.get_by_role("button", name="Revoke bob-ci").click()
    expect(page.get_by_role("status")).to_contain_text("bob-ci was revoked")
    expect(page.get_by_role("heading", name="Remove bob from Acme?")).to_be_visible()
    expect(keys.get_by_role("rowheader")).to_have_text(["bob-deploy"])
    page.get_by_role("button", name="Remove member").click()

    expect(page.get_by_role("status")).to_contain_text("bob was removed from Acme")
    expect(row(page, "bob")).to_have_count(0)
    expect(row(page, "alice")).to_have_count(1)
    assert not Membership.objects.filter(workspace=team, user=bob).exists()
    assert ApiKey.objects.get(pk=ci.pk).revoked_at is not None
    # Keys outlive their creator's membership.
    assert ApiKey.objects.get(pk=deploy.pk).revoked_at is None
    whoami = APIClient(REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {deploy_secret}").get("/api/v1/whoami")
    assert whoami.status_code == 200, whoami.content
    member_events = AuditEvent.objects.filter(workspace=team, api_key=None).order_by("created_at")
    assert list(member_events.values_list("action", flat=True)) == [
        "member.added",
        "member.role_changed",
        "member.removed",
    ]
    assert page.evaluate("window.cspViolations") == []


def test_a_viewer_sees_members_but_no_controls(browser_page: Any, sign_in: Any, bob: Any, team: Workspace) -> None:
    Membership.objects.create(workspace=team, user=bob, role=Role.VIEWER)
    page = sign_in(bob)
    page.goto("/settings/developer/")
    page.get_by_label("Workspace").select_option(label="Acme (viewer)")
    page.get_by_role("button", name="Switch").click()
    page.goto("/settings/members/")
    expect(row(page, "alice")).to_contain_text("Owner")
    expect(page.get_by_role("button", name="Add member")).to_have_count(0)
    expect(page.get_by_role("button", name="Change role")).to_have_count(0)
    expect(page.get_by_role("link", name="Remove")).to_have_count(0)


@pytest.fixture
def seeded(user: Any, bob: Any, team: Workspace, make_key: Any) -> Membership:
    """Acme with bob, a developer with a long e-mail and a key with a long name."""
    bob.email = "bob.with.a.rather.long.address@engineering.example.com"
    bob.save()
    membership = Membership.objects.create(workspace=team, user=bob, role=Role.DEVELOPER)
    make_key(bob, name=LONG_NAME, scopes=["keys:read"], workspace_id=team.pk)
    return membership


def test_the_members_pages_fit_375px(browser_page: Any, sign_in: Any, user: Any, team: Workspace, seeded: Any) -> None:
    page = sign_in(user)
    switch_to(page, team)
    page.set_viewport_size(PHONE)
    for what, path in {
        "the members page": "/settings/members/",
        "the removal page": f"/settings/members/{seeded.pk}/remove/",
    }.items():
        page.goto(path)
        width = scroll_width(page)
        assert width <= PHONE["width"], f"{what} is {width}px wide at {PHONE['width']}px"
    page.goto("/settings/members/")
    screenshot(page, "members-375.png")
    for control in (
        row(page, "bob").get_by_label("Role of bob"),
        row(page, "bob").get_by_role("button", name="Change role"),
    ):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_the_members_pages_pass_axe(
    axe_context: Any, live_server: Any, user: Any, team: Workspace, seeded: Any
) -> None:
    axe_context.add_cookies(session_cookies(user, live_server.url, workspace=team))
    page = axe_context.new_page()
    page.goto("/settings/members/")
    assert_accessible(page, "the members page")
    page.get_by_label("Username or e-mail").fill("nobody")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("No user has this username or e-mail.")).to_be_visible()
    assert_accessible(page, "the members page with an error")
    page.goto(f"/settings/members/{seeded.pk}/remove/")
    assert_accessible(page, "the removal page")
