"""Settings > Developer > Webhooks and Settings > Notifications in Chromium: an admin adds an
endpoint, copies its secret (shown once), reads the delivery log and resends a failed delivery;
a member turns an event type off. The pages work from the keyboard, fit 375 px, pass axe and run
under the CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from apikeys import services
from notifications.models import NotificationOptOut, WebhookEndpoint
from tests.notifications.receivers import receiver

from .axe import assert_accessible
from .helpers import screenshot, scroll_width, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
COLLECT_CSP_VIOLATIONS = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def test_an_admin_adds_an_endpoint_sees_deliveries_and_resends(
    browser_page: Any, sign_in: Any, user: Any, settings: Any
):
    settings.KEYFENCE_WEBHOOK_ALLOW_PRIVATE = True
    page = sign_in(user)
    page.add_init_script(COLLECT_CSP_VIOLATIONS)
    with receiver("500") as hook:
        page.goto("/settings/developer/")
        page.get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
        page.get_by_label("Endpoint URL").fill(hook.url)
        page.get_by_role("checkbox", name=re.compile("All events")).uncheck()
        page.get_by_role("checkbox", name=re.compile("Key revoked")).check()
        page.get_by_role("button", name="Add endpoint").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Webhook endpoint added")).to_be_visible()
        secret = page.locator("#new-secret").inner_text().strip()
        endpoint = WebhookEndpoint.objects.get()
        assert secret == endpoint.secret and secret.startswith("whsec_") and endpoint.events == ["key.revoked"]
        screenshot(page, "webhook-secret.png")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("cell", name=hook.url, exact=True)).to_be_visible()
        assert secret not in page.content()

        # A revocation is delivered at once (the test runs tasks eagerly); the receiver answers 500.
        key, _ = services.key_create(name="deploy", actor=services.Actor(user_id=user.pk))
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
        hook.wait(1)
        page.get_by_role("link", name=re.compile(r"^Deliveries")).click()
        expect(page.get_by_role("heading", name="Deliveries", level=1)).to_be_visible()
        expect(page.get_by_text("HTTP 500")).to_be_visible()
        expect(page.get_by_text("Pending", exact=True)).to_be_visible()
        hook.behaviour = "ok"
        page.get_by_role("button", name=re.compile("^Resend key.revoked")).click()
        expect(page.get_by_text("was queued again")).to_be_visible()
        expect(page.get_by_text("HTTP 200")).to_be_visible()
        expect(page.get_by_text("Delivered", exact=True)).to_be_visible()
        screenshot(page, "webhook-deliveries.png")
        assert len(hook.received) == 2

        page.set_viewport_size(PHONE)
        for path in ("/settings/developer/webhooks/", f"/settings/developer/webhooks/{endpoint.pk}/"):
            page.goto(path)
            assert scroll_width(page) <= PHONE["width"], path
    assert page.evaluate("window.cspViolations") == []


def test_a_member_turns_an_event_type_off(browser_page: Any, sign_in: Any, user: Any) -> None:
    page = sign_in(user)
    page.goto("/settings/developer/")
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    box = page.get_by_role("checkbox", name=re.compile("Key created"))
    expect(box).to_be_checked()
    box.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your notification settings were saved.")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("Key created"))).not_to_be_checked()
    assert list(NotificationOptOut.objects.values_list("event_type", flat=True)) == ["key.created"]
    screenshot(page, "notifications.png")
    page.set_viewport_size(PHONE)
    page.reload()
    assert scroll_width(page) <= PHONE["width"]


def test_the_webhook_and_notification_pages_pass_axe(axe_context: Any, live_server: Any, user: Any) -> None:
    from notifications.models import Event, WebhookDelivery
    from workspaces.services import personal_workspace_for

    workspace = personal_workspace_for(user_id=user.pk)
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace, url="https://hooks.example.com/keyfence", events=["*"], secret="whsec_x"
    )
    event = Event.objects.create(workspace=workspace, type="key.revoked", data={})
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, status="failed", failures=7)
    delivery.attempts.create(status_code=500, duration_ms=12.5)
    delivery.attempts.create(error="No answer within 10 s.", duration_ms=10000)
    axe_context.add_cookies(session_cookies(user, live_server.url))
    page = axe_context.new_page()
    for path, what in (
        ("/settings/developer/webhooks/", "the Webhooks page"),
        (f"/settings/developer/webhooks/{endpoint.pk}/", "the deliveries page"),
        ("/settings/notifications/", "the Notifications page"),
    ):
        page.goto(path)
        assert_accessible(page, what)
    page.goto("/settings/developer/webhooks/")
    page.get_by_label("Endpoint URL").fill("ftp://example.com/")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("Webhook URLs must use https.")).to_be_visible()
    assert_accessible(page, "the Webhooks page with an error")
