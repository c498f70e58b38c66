"""The webhooks API: admins only, the secret once, WEBHOOK_URL_NOT_ALLOWED, deliveries and Resend."""

from __future__ import annotations

import pytest

from notifications.models import Event, WebhookDelivery, WebhookEndpoint
from tests.notifications.receivers import receiver
from tests.policy_helpers import field_codes, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(team):
    return signed_in(team.members["admin"], team.workspace, api=True)


def test_create_shows_the_secret_once(admin_api, allow_private):
    response = admin_api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["*"] and body["enabled"] is True
    listed = admin_api.get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert (
        body["secret"]
        not in admin_api.patch(f"/api/v1/webhooks/{body['id']}", {"enabled": False}, format="json").content.decode()
    )


def test_a_private_url_is_refused_with_its_code(admin_api):
    response = admin_api.post("/api/v1/webhooks", {"url": "https://127.0.0.1/hook"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "WEBHOOK_URL_NOT_ALLOWED" and error["fields"]["url"][0]["code"] == "WEBHOOK_URL_NOT_ALLOWED"
    assert admin_api.post("/api/v1/webhooks", {"url": "http://example.com/"}, format="json").json()["error"][
        "code"
    ] == ("WEBHOOK_URL_NOT_ALLOWED")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "http://127.0.0.1/", "events": ["key.nope"]}, "events", "INVALID_EVENT_TYPE"),
        ({"url": "http://127.0.0.1/", "events": []}, "events", "INVALID_EVENT_TYPE"),
        ({"url": "http://127.0.0.1/", "events": "key.created"}, "events", "NOT_A_LIST"),
        ({"url": 5}, "url", "INVALID"),
        ({}, "url", "REQUIRED"),
        ({"url": "http://127.0.0.1/", "secret": "whsec_mine"}, "secret", "UNKNOWN_FIELD"),
    ],
    ids=["unknown-type", "no-types", "not-a-list", "number-url", "no-url", "secret-given"],
)
def test_bad_input_gets_its_code(admin_api, allow_private, body, field, code):
    response = admin_api.post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400
    assert code in field_codes(response)[field]


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_members_below_admin_may_not_see_or_change_endpoints(team, role, allow_private):
    client = signed_in(team.members[role], team.workspace, api=True)
    assert client.get("/api/v1/webhooks").json()["error"]["code"] == "INSUFFICIENT_ROLE"
    response = client.post("/api/v1/webhooks", {"url": "http://127.0.0.1/"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "INSUFFICIENT_ROLE"


def test_a_key_needs_the_workspace_admin_scope(team, team_key, api):
    _, secret = team_key()  # keys:read, keys:write, logs:read
    response = api(secret, ip="203.0.113.5").get("/api/v1/webhooks")
    assert response.status_code == 403 and response.json()["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_another_workspaces_endpoint_is_not_found(team, admin_api, other_user, allow_private):
    from workspaces.services import personal_workspace_for

    theirs = WebhookEndpoint.objects.create(
        workspace=personal_workspace_for(user_id=other_user.pk), url="http://127.0.0.1/", events=["*"], secret="whsec_x"
    )
    assert admin_api.patch(f"/api/v1/webhooks/{theirs.pk}", {"enabled": False}, format="json").status_code == 404
    assert admin_api.delete(f"/api/v1/webhooks/{theirs.pk}").status_code == 404
    assert admin_api.get(f"/api/v1/webhooks/{theirs.pk}/deliveries").status_code == 404
    assert admin_api.get("/api/v1/webhooks/not-a-uuid/deliveries").status_code == 404


def test_deliveries_list_and_resend(team, admin_api, allow_private, django_capture_on_commit_callbacks):
    with receiver("500") as hook:
        created = admin_api.post("/api/v1/webhooks", {"url": hook.url}, format="json").json()
        with django_capture_on_commit_callbacks(execute=True):
            admin_api.patch("/api/v1/policies", {"require_allowlist": True}, format="json")
        hook.wait(1)
        listed = admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()
        (delivery,) = listed["results"]
        assert delivery["event"]["type"] == "policy.changed" and delivery["status"] == "pending"
        assert delivery["attempts"][0]["status_code"] == 500 and delivery["attempts"][0]["duration_ms"] > 0
        hook.behaviour = "ok"
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/resend")
        assert response.status_code == 202
        hook.wait(2)
    assert WebhookDelivery.objects.get().status == "delivered"
    assert [
        a["status_code"]
        for a in admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["results"][0]["attempts"]
    ] == [200, 500]


def test_delete_removes_the_endpoint_and_its_log(team, admin_api, allow_private):
    created = admin_api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json").json()
    WebhookDelivery.objects.create(
        endpoint_id=created["id"], event=Event.objects.create(workspace=team.workspace, type="policy.changed")
    )
    assert admin_api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
