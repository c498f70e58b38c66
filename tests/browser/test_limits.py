"""Rate limits and quotas in Chromium (SPEC §18): a key created with a limit shows its usage in the
keys table and on its Limits page, and answers 429 once the limit is spent. From the keyboard, at
375 px, under the CSP, and without axe violations."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from apikeys.models import ApiKey, AuditEvent

from .axe import assert_accessible
from .helpers import scroll_width, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
KEY_PATTERN = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")
COLLECT_CSP_VIOLATIONS = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def whoami(page: Any, secret: str) -> tuple[int, dict[str, str], dict]:
    response = page.request.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    return response.status, response.headers, response.json()


def test_a_key_with_a_limit_shows_its_usage_and_answers_429_when_exceeded(
    browser_page: Any, sign_in: Any, user: Any
) -> None:
    page = sign_in(user)
    page.add_init_script(COLLECT_CSP_VIOLATIONS)
    page.goto("/settings/developer/")
    page.get_by_role("button", name="Create API Key").click()
    page.get_by_label("Name", exact=True).fill("Metered export")
    page.get_by_label("Requests").fill("2")
    page.get_by_label("per", exact=True).select_option("minute")
    page.get_by_label("Monthly quota").fill("100")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    secret = KEY_PATTERN.search(page.content()).group(0)
    assert ApiKey.objects.get().rate_limit == {"requests": 2, "per": "minute"}

    answers = [whoami(page, secret) for _ in range(3)]
    assert [status for status, _, _ in answers] == [200, 200, 429]
    assert [headers["ratelimit-remaining"] for _, headers, _ in answers] == ["1", "0", "0"]
    assert answers[2][2]["error"]["code"] == "RATE_LIMITED" and int(answers[2][1]["retry-after"]) >= 1

    page.goto("/settings/developer/")
    row = page.get_by_role("row", name=re.compile("Metered export"))
    expect(row.get_by_text("2 of 100 requests (2 %)")).to_be_visible()
    expect(row.get_by_role("meter", name="Monthly quota used by Metered export")).to_have_attribute("value", "2")

    # The Limits page, from the keyboard: the quota goes down to what is already used.
    row.get_by_role("link", name="Limits of Metered export").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Limits of Metered export")).to_be_visible()
    expect(page.locator("[data-usage]")).to_have_text("2 of 100 requests (2 %)")
    quota = page.get_by_label("Monthly quota")
    quota.focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.get_by_role("button", name="Save limits").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The limits of Metered export were saved.")).to_be_visible()
    assert AuditEvent.objects.filter(action="key.updated").get().after["monthly_quota"] == 2

    status, headers, body = whoami(page, secret)
    assert (status, body["error"]["code"]) == (429, "QUOTA_EXCEEDED")
    assert int(headers["retry-after"]) > 0
    assert page.evaluate("window.cspViolations") == []

    page.set_viewport_size(PHONE)
    for path in ("/settings/developer/", page.url):
        page.goto(path)
        assert scroll_width(page) <= PHONE["width"], path


def test_the_limits_page_passes_axe(axe_context: Any, live_server: Any, user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="Metered", rate_limit={"requests": 5, "per": "second"}, monthly_quota=10)
    axe_context.add_cookies(session_cookies(user, live_server.url))
    page = axe_context.new_page()
    page.goto(f"/settings/developer/keys/{key.pk}/limits/")
    assert_accessible(page, "the Limits page")
    page.goto("/settings/developer/")
    assert_accessible(page, "the keys table with a limited key")
    page.goto("/settings/developer/keys/new/")
    assert_accessible(page, "the create form with its Limits section")
