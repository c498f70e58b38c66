"""Every page at 375 px wide without sideways scrolling, and no request leaving this machine."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .helpers import foreign_requests, scroll_width, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
LONG_NAME = "Nightly export to the data warehouse in eu-west-1"


def fits(page: Any, what: str) -> None:
    width = scroll_width(page)
    assert width <= PHONE["width"], f"{what} is {width}px wide at {PHONE['width']}px"


def test_every_page_fits_375px_and_loads_only_local_assets(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any, requested_urls: list[str]
) -> None:
    key, _ = make_key(user, name=LONG_NAME, allow=["2001:db8:abcd:12::/64", "203.0.113.0/24", "203.0.113.5"])
    make_key(user, name="Staging", mode="report", allow=["192.0.2.0/24"])
    for n in range(3):
        seed_log(
            user,
            key,
            ip="2001:db8:ffff:ffff:ffff:ffff:ffff:1234",
            status=403,
            decision="blocked",
            error="IP_NOT_ALLOWED",
            path="/api/v1/keys/" + "a-very-long-path-segment/" * 8 + str(n),
        )
    page = browser_page
    page.set_viewport_size(PHONE)

    page.goto("/accounts/login/")
    fits(page, "the sign-in page")
    sign_in(user)

    pages = {
        "the keys table": "/settings/developer/",
        "the create form": "/settings/developer/keys/new/",
        "the allowlist editor": f"/settings/developer/keys/{key.pk}/allowlist/",
        "the roll confirmation": f"/settings/developer/keys/{key.pk}/roll/",
        "the revoke confirmation": f"/settings/developer/keys/{key.pk}/revoke/",
        "the usage logs": "/settings/developer/logs/",
        "the filtered usage logs": "/settings/developer/logs/?status_code=4xx&blocked=on",
    }
    for what, path in pages.items():
        page.goto(path)
        fits(page, what)

    page.goto("/settings/developer/")
    page.get_by_role("button", name=f"Actions for {LONG_NAME}").click()
    expect(page.get_by_role("menu")).to_be_visible()
    fits(page, "the keys table with a menu open")

    page.goto("/settings/developer/keys/new/")
    page.get_by_label("Name", exact=True).fill(LONG_NAME)
    page.get_by_role("button", name="Add IP", exact=True).click()
    page.get_by_role("textbox", name="IP address or CIDR").fill("10.0.0.0/8")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    fits(page, "the create form with an error")
    page.get_by_role("textbox", name="IP address or CIDR").fill("10.1.0.0/16")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    fits(page, "the new key page")

    assert any("/static/css/app.css" in url for url in requested_urls)
    assert foreign_requests(requested_urls) == []


def test_pages_work_without_javascript(pw_chromium: Any, live_server: Any, user: Any, make_key: Any) -> None:
    """Row buttons fall back to the server; the menu shows its links as a list."""
    from django.conf import settings
    from django.test import Client

    key, _ = make_key(user, name="Plain")
    client = Client()
    client.force_login(user)
    context = pw_chromium.new_context(java_script_enabled=False, base_url=live_server.url)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "url": live_server.url,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            }
        ]
    )
    page = context.new_page()
    try:
        page.goto("/settings/developer/")
        page.get_by_role("menuitem", name="IP Allowlist").click()
        page.get_by_role("button", name="Add my IP").click()
        page.get_by_role("button", name="Add IP", exact=True).click()
        addresses = page.get_by_role("textbox", name="IP address or CIDR")
        expect(addresses).to_have_count(2)
        expect(addresses.nth(0)).to_have_value("127.0.0.1")
        addresses.nth(1).fill("198.51.100.0/24")
        page.get_by_role("group", name="Entry 1").get_by_role("button", name="Remove").click()
        expect(addresses).to_have_count(1)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
        assert list(key.entries.values_list("cidr", flat=True)) == ["198.51.100.0/24"]
    finally:
        context.close()


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def test_pages_work_under_a_strict_content_security_policy(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    key, _ = make_key(user, name="Strict", allow=["203.0.113.0/24"])
    seed_log(user, key, ip="192.0.2.44", status=403, decision="blocked")
    page = sign_in(user)

    def with_policy(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route("**/*", with_policy)
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    for path in (
        "/settings/developer/",
        f"/settings/developer/keys/{key.pk}/allowlist/",
        "/settings/developer/keys/new/",
        "/settings/developer/logs/",
        f"/settings/developer/keys/{key.pk}/roll/",
    ):
        page.goto(path)
        assert page.evaluate("window.cspViolations") == [], path
    page.goto("/settings/developer/")
    page.get_by_role("button", name="Actions for Strict").click()
    expect(page.get_by_role("menuitem", name="IP Allowlist")).to_be_focused()
    page.goto(f"/settings/developer/keys/{key.pk}/allowlist/")
    page.get_by_role("button", name="Add IP", exact=True).click()
    expect(page.get_by_role("textbox", name="IP address or CIDR")).to_have_count(2)
    assert page.evaluate("window.cspViolations") == []
