"""Accessibility: axe-core (WCAG 2.1 A and AA) on every page, and a keyboard-only walk.

axe-core comes from the local copy the test dependencies install, never from a CDN.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from .axe import assert_accessible
from .helpers import DESKTOP, foreign_requests, scroll_width, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
LONG_NAME = "Nightly export to the data warehouse in eu-west-1"

# Every aria attribute that names other elements by id, and the ids that are missing.
DANGLING_REFERENCES = """() => {
  const names = ["aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage", "aria-owns"];
  const missing = [];
  for (const name of names) {
    for (const element of document.querySelectorAll(`[${name}]`)) {
      for (const id of element.getAttribute(name).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(`${element.id || element.tagName} ${name}=${id}`);
      }
    }
  }
  return missing;
}"""

# The focused element's outline, and its contrast with the background right behind the ring: the
# parent's for a ring drawn outside the element, the element's own for one drawn inside it.
FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const rgb = (text) => {
    const parts = (text.match(/rgba?\\(([^)]*)\\)/) || [null, ""])[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return parts.length >= 3 ? {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1} : null;
  };
  const luminance = (c) => [c.r, c.g, c.b].map((v) => v / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let node = parseFloat(style.outlineOffset) < 0 ? el : el.parentElement;
  let behind = null;
  while (node && !behind) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour && colour.a > 0) behind = colour;
    node = node.parentElement;
  }
  behind = behind || {r: 255, g: 255, b: 255, a: 1};
  const ring = rgb(style.outlineColor);
  const [light, dark] = [luminance(ring), luminance(behind)].sort((a, b) => b - a);
  return {
    what: `${el.tagName.toLowerCase()} "${
      (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 40)}"`,
    style: style.outlineStyle, width: parseFloat(style.outlineWidth), colour: style.outlineColor,
    ratio: Math.round(((light + 0.05) / (dark + 0.05)) * 100) / 100, body: el === document.body,
  };
}"""


def _session_cookie(user: Any, live_server: Any) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


@pytest.fixture
def axe_page(pw_chromium: Any, live_server: Any) -> Iterator[Any]:
    """A page whose context ignores the CSP, so that axe-core can be injected from its local file."""
    urls: list[str] = []
    context = pw_chromium.new_context(viewport=DESKTOP, base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    context.on("request", lambda request: urls.append(request.url))
    page = context.new_page()
    yield page
    context.close()
    assert foreign_requests(urls) == []


@pytest.fixture
def staff_user(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")


def check(page: Any, what: str) -> None:
    """No axe violation and no aria reference to a missing element."""
    assert page.evaluate(DANGLING_REFERENCES) == [], what
    assert_accessible(page, what)


def submit_create_with_a_bad_entry(page: Any) -> None:
    page.goto("/settings/developer/keys/new/")
    page.get_by_label("Name", exact=True).fill("Deploy bot")
    page.get_by_role("button", name="Add IP", exact=True).click()
    page.get_by_role("textbox", name="IP address or CIDR").fill("10.0.0.0/8")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was created")


def test_every_page_passes_axe(axe_page: Any, live_server: Any, user: Any, staff_user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name=LONG_NAME, allow=["203.0.113.0/24", "203.0.113.5"])
    seed_log(user, key, ip="198.51.100.9", status=403, decision="blocked", error="IP_NOT_ALLOWED")
    seed_log(user, key, ip="2001:db8:ffff:ffff:ffff:ffff:ffff:1234")
    page = axe_page

    page.goto("/accounts/login/")
    check(page, "the sign-in page")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check(page, "the sign-in page with an error")

    page.context.add_cookies([_session_cookie(user, live_server)])
    for what, path in {
        "the keys page": "/settings/developer/",
        "the create form": "/settings/developer/keys/new/",
        "the allowlist editor": f"/settings/developer/keys/{key.pk}/allowlist/",
        "the roll confirmation": f"/settings/developer/keys/{key.pk}/roll/",
        "the revoke confirmation": f"/settings/developer/keys/{key.pk}/revoke/",
        "the usage logs": "/settings/developer/logs/",
        "the usage logs with bad filters": "/settings/developer/logs/?status_code=4x&client_ip=nope",
    }.items():
        page.goto(path)
        check(page, what)

    page.goto("/settings/developer/")
    page.get_by_role("button", name=f"Actions for {LONG_NAME}").click()
    expect(page.get_by_role("menu")).to_be_visible()
    check(page, "the keys page with a menu open")

    submit_create_with_a_bad_entry(page)
    check(page, "the create form with errors")
    page.get_by_role("textbox", name="IP address or CIDR").fill("10.1.0.0/16")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    check(page, "the key created page")

    page.context.clear_cookies()
    page.context.add_cookies([_session_cookie(staff_user, live_server)])
    for what, path in {
        "the admin key list": "/admin/apikeys/apikey/",
        "the admin key page": f"/admin/apikeys/apikey/{key.pk}/change/",
        "the admin add key page": "/admin/apikeys/apikey/add/",
        "the admin revoke page": f"/admin/apikeys/apikey/{key.pk}/revoke/",
        "the admin usage logs": "/admin/usagelogs/usagelog/?status_code=4xx",
        "the admin usage logs with bad filters": "/admin/usagelogs/usagelog/?client_ip=nope",
    }.items():
        page.goto(path)
        check(page, what)

    page.goto("/api/v1/docs")
    expect(page.locator(".opblock-summary-control").first).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    check(page, "the API docs")


def test_api_docs_keep_the_csp_and_load_no_inline_script(browser_page: Any) -> None:
    page = browser_page
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    response = page.goto("/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".opblock-summary-control").first).to_be_visible()
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert page.evaluate("window.cspViolations") == []
    assert any(
        link.endswith("/static/css/api-docs.css")
        for link in page.eval_on_selector_all("link[rel=stylesheet]", "links => links.map((l) => l.href)")
    )


@pytest.mark.parametrize("form", ["create", "allowlist", "logs", "login"])
def test_after_a_refused_submit_focus_is_on_the_error_summary(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any, form: str
) -> None:
    page = browser_page
    if form == "login":
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
    else:
        sign_in(user)
    if form == "create":
        submit_create_with_a_bad_entry(page)
    elif form == "allowlist":
        key, _ = make_key(user, name="Build")
        page.goto(f"/settings/developer/keys/{key.pk}/allowlist/")
        page.get_by_role("button", name="Add IP", exact=True).click()
        page.get_by_role("textbox", name="IP address or CIDR").fill("203.0.113.5/24")
        page.get_by_role("button", name="Save", exact=True).click()
    elif form == "logs":
        page.goto("/settings/developer/logs/")
        page.get_by_label("Status code").fill("4x")
        page.get_by_role("button", name="Apply filters").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    assert summary.get_attribute("tabindex") == "-1"
    assert summary.get_attribute("role") == "alert"


def test_described_by_points_at_the_rendered_help_and_error(browser_page: Any, sign_in: Any, user: Any) -> None:
    page = sign_in(user)
    page.goto("/settings/developer/keys/new/")
    page.get_by_label("Name", exact=True).fill("x" * 101)  # maxlength stops typing; set it as a script would
    page.eval_on_selector("#id_name", "(el) => { el.removeAttribute('maxlength'); el.value = 'x'.repeat(101); }")
    page.get_by_role("button", name="Create", exact=True).click()
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(
        "For example the server or job that will use the key. "
        "Ensure this value has at most 100 characters (it has 101)."
    )
    assert page.evaluate(DANGLING_REFERENCES) == []

    page.goto("/settings/developer/logs/?status_code=4x")
    status = page.get_by_label("Status code")
    expect(status).to_have_accessible_description(
        "Exact, such as 404, or a class, such as 4xx. Enter a status code such as 404, or a class such as 4xx."
    )
    assert page.evaluate(DANGLING_REFERENCES) == []


def _walk(page: Any, steps: int = 60) -> list[dict[str, Any]]:
    """Tab through the page from the top; the focus ring of every stop."""
    page.locator("body").focus()
    stops = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_RING)
        if stop["body"]:
            break
        stops.append(stop)
    return stops


def test_keyboard_walk_every_stop_has_a_focus_ring_of_at_least_3_to_1(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any
) -> None:
    """WCAG 1.4.11: the focus indicator contrasts at least 3:1 with what is around it."""
    key, _ = make_key(user, name="Build", allow=["203.0.113.0/24"])
    seed_log(user, key, ip="198.51.100.9", status=403, decision="blocked", error="IP_NOT_ALLOWED")
    page = browser_page
    page.goto("/accounts/login/")
    pages = {"the sign-in page": _walk(page)}
    sign_in(user)
    for what, path in {
        "the keys page": "/settings/developer/",
        "the create form": "/settings/developer/keys/new/",
        "the allowlist editor": f"/settings/developer/keys/{key.pk}/allowlist/",
        "the usage logs": "/settings/developer/logs/",
    }.items():
        page.goto(path)
        pages[what] = _walk(page)
    page.goto("/settings/developer/")
    page.get_by_role("button", name="Actions for Build").focus()
    page.keyboard.press("ArrowDown")
    pages["the open menu"] = [page.evaluate(FOCUS_RING)]
    submit_create_with_a_bad_entry(page)
    pages["the error summary"] = [page.evaluate(FOCUS_RING)]

    for what, stops in pages.items():
        assert len(stops) >= 1, what
        for stop in stops:
            assert stop["style"] != "none" and stop["width"] >= 2, f"{what}: {stop['what']} shows no focus ring"
            assert stop["ratio"] >= 3, (
                f"{what}: the focus ring of {stop['what']} ({stop['colour']}) is {stop['ratio']}:1"
            )


def _wrapped(page: Any, selector: str) -> list[str]:
    """The texts of the inline elements that break over more than one line."""
    return page.eval_on_selector_all(
        selector, "(els) => els.filter((el) => el.getClientRects().length > 1).map((el) => el.textContent)"
    )


@pytest.mark.parametrize("viewport", [DESKTOP, {"width": 900, "height": 800}, PHONE], ids=["1280", "900", "375"])
def test_client_ips_and_error_codes_do_not_wrap_in_the_log_table(
    browser_page: Any, sign_in: Any, user: Any, make_key: Any, viewport: dict[str, int]
) -> None:
    key, _ = make_key(user, name=LONG_NAME)
    for ip in ("127.0.0.9", "198.51.100.200", "2001:db8:ffff:ffff:ffff:ffff:ffff:1234"):
        seed_log(
            user,
            key,
            ip=ip,
            status=403,
            decision="blocked",
            error="IP_NOT_ALLOWED",
            path="/api/v1/keys/" + "a-very-long-path-segment/" * 6,
        )
    page = sign_in(user)
    page.set_viewport_size(viewport)
    page.goto("/settings/developer/logs/")
    expect(page.locator("table.log-table tbody tr")).to_have_count(3)
    assert _wrapped(page, "td[data-label='Client IP'] code") == []
    assert _wrapped(page, "td[data-label='Error'] code") == []
    # The date and the time may sit on two lines, but neither breaks inside itself.
    assert _wrapped(page, "td[data-label='Time'] time span") == []
    assert page.locator("td[data-label='Time'] time span").count() == 6
    assert scroll_width(page) <= viewport["width"], "the page itself scrolls sideways"
    frame = page.get_by_role("region", name="Table of requests")
    if viewport == PHONE:
        assert frame.evaluate("(el) => el.scrollWidth > el.clientWidth"), "the table should scroll in its frame"
        frame.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        assert frame.evaluate("(el) => el.scrollLeft") > 0, "the arrow keys scroll the focused table"
