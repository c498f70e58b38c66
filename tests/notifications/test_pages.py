"""Settings > Developer > Webhooks and Settings > Notifications, without a browser."""

from __future__ import annotations

import pytest

from notifications.models import Event, EventType, NotificationOptOut, WebhookDelivery, WebhookEndpoint
from tests.policy_helpers import signed_in
from workspaces.models import Membership

pytestmark = pytest.mark.django_db


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(team, allow_private):
    client = signed_in(team.members["admin"], team.workspace)
    page = client.get("/settings/developer/webhooks/")
    assert page.status_code == 200 and b"No endpoints yet" in page.content
    response = client.post("/settings/developer/webhooks/", {"url": "http://127.0.0.1:9/hook", "all_events": "on"})
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200 and endpoint.secret.encode() in response.content
    assert endpoint.events == ["*"]
    again = client.get("/settings/developer/webhooks/")
    assert b"http://127.0.0.1:9/hook" in again.content and endpoint.secret.encode() not in again.content


def test_chosen_events_and_errors_inline(team, allow_private):
    client = signed_in(team.members["admin"], team.workspace)
    response = client.post(
        "/settings/developer/webhooks/", {"url": "http://127.0.0.1:9/", "events": ["key.revoked", "ip.blocked"]}
    )
    assert WebhookEndpoint.objects.get().events == ["key.revoked", "ip.blocked"]
    refused = client.post("/settings/developer/webhooks/", {"url": "ftp://example.com/", "all_events": "on"})
    assert refused.status_code == 400 and b"must use https" in refused.content
    nothing = client.post("/settings/developer/webhooks/", {"url": "http://127.0.0.1:9/"})
    assert nothing.status_code == 400 and b"Choose All events" in nothing.content
    assert WebhookEndpoint.objects.count() == 1 and response.status_code == 200


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_only_admins_reach_the_webhooks_page(team, role):
    client = signed_in(team.members[role], team.workspace)
    response = client.get("/settings/developer/webhooks/")
    assert response.status_code == 403 and b"INSUFFICIENT_ROLE" in response.content
    assert b"/settings/developer/webhooks/" not in client.get("/settings/developer/").content  # no tab either


def test_deliveries_page_toggle_delete_and_resend(team, allow_private, django_capture_on_commit_callbacks):
    from tests.notifications.receivers import receiver

    client = signed_in(team.members["admin"], team.workspace)
    with receiver() as hook:
        client.post("/settings/developer/webhooks/", {"url": hook.url, "all_events": "on"})
        endpoint = WebhookEndpoint.objects.get()
        event = Event.objects.create(workspace=team.workspace, type="policy.changed", data={})
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event)
        page = client.get(f"/settings/developer/webhooks/{endpoint.pk}/")
        assert b"policy.changed" in page.content and b"None yet" in page.content
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/settings/developer/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
        assert response.status_code == 302
        hook.wait(1)
    page = client.get(f"/settings/developer/webhooks/{endpoint.pk}/")
    assert b"HTTP 200" in page.content and b"Delivered" in page.content
    client.post(f"/settings/developer/webhooks/{endpoint.pk}/toggle/")
    assert WebhookEndpoint.objects.get().enabled is False
    client.post(f"/settings/developer/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.exists()


def test_a_member_turns_event_types_off_for_themselves(team):
    client = signed_in(team.members["owner"], team.workspace)
    page = client.get("/settings/notifications/")
    assert page.status_code == 200 and b"Key revoked" in page.content
    kept = ["key.revoked", "key.leaked"]
    client.post("/settings/notifications/", {"emailed": kept})
    owner = Membership.objects.get(workspace=team.workspace, user=team.members["owner"])
    muted = set(NotificationOptOut.objects.filter(membership=owner).values_list("event_type", flat=True))
    assert "key.revoked" not in muted and "ip.blocked" in muted and len(muted) == len(EventType.values) - len(kept)
    assert not NotificationOptOut.objects.exclude(membership=owner).exists()


def test_viewers_are_told_they_get_no_email(team):
    page = signed_in(team.members["viewer"], team.workspace).get("/settings/notifications/")
    assert b"only as an admin or owner" in page.content
