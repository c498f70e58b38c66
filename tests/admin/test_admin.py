"""The Django admin: entries inline under the same rules, the secret shown once, logs read-only."""

import re

import pytest
from django.contrib.auth import get_user_model

from apikeys.models import ApiKey, AuditEvent
from apikeys.secrets import hash_key
from usagelogs.models import UsageLog
from workspaces.services import personal_workspace_for

pytestmark = pytest.mark.django_db
KEY_PATTERN = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")
    client.force_login(admin)
    return client


def form_data(owner, rows, **extra):
    data = {
        "workspace": personal_workspace_for(user_id=owner.pk).pk,
        "name": "from admin",
        "description": "",
        "scopes": ["keys:read"],
        "allowlist_mode": "enforce",
        "expires_at_0": "",
        "expires_at_1": "",
        "entries-TOTAL_FORMS": str(len(rows)),
        "entries-INITIAL_FORMS": "0",
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "20",
    }
    for i, (cidr, label) in enumerate(rows):
        data[f"entries-{i}-cidr"] = cidr
        data[f"entries-{i}-label"] = label
    data.update(extra)
    return data


def test_create_shows_the_secret_once(staff, user):
    response = staff.post(
        "/admin/apikeys/apikey/add/", form_data(user, [("203.0.113.5", "office"), ("2001:db8::/48", "")])
    )
    assert response.status_code == 302
    assert KEY_PATTERN.search(response.content.decode()) is None
    page = staff.get(response["Location"])
    html = page.content.decode()
    secret = KEY_PATTERN.search(html).group(0)
    assert "will not be shown again" in html
    assert "no-store" in page["Cache-Control"]
    key = ApiKey.objects.get(secret_hash=hash_key(secret))
    assert response["Location"] == f"/admin/apikeys/apikey/{key.pk}/created/"
    assert list(key.entries.values_list("cidr", "label")) == [("203.0.113.5/32", "office"), ("2001:db8::/48", "")]
    assert AuditEvent.objects.filter(api_key=key, action="key.created").exists()
    change_page = staff.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert secret not in change_page and key.secret_hash not in change_page
    assert secret.split("_", 2)[2] not in str(dict(staff.session.items()))


def test_reloading_the_created_page_creates_no_second_key_and_shows_no_secret(staff, user):
    response = staff.post("/admin/apikeys/apikey/add/", form_data(user, []), follow=True)
    assert KEY_PATTERN.search(response.content.decode())
    reloaded = staff.get(response.redirect_chain[-1][0])
    assert reloaded.status_code == 200
    assert KEY_PATTERN.search(reloaded.content.decode()) is None
    assert "shown once" in reloaded.content.decode()
    assert ApiKey.objects.count() == 1


def test_another_keys_created_page_does_not_take_the_pending_secret(staff, user, make_key):
    other, _ = make_key(user, name="other")
    response = staff.post("/admin/apikeys/apikey/add/", form_data(user, []))
    assert KEY_PATTERN.search(staff.get(f"/admin/apikeys/apikey/{other.pk}/created/").content.decode()) is None
    assert KEY_PATTERN.search(staff.get(response["Location"]).content.decode())


def test_overlapping_entries_are_saved_with_a_warning(staff, user):
    response = staff.post(
        "/admin/apikeys/apikey/add/",
        form_data(user, [("203.0.113.0/24", "office"), ("203.0.113.5", "desk")]),
        follow=True,
    )
    html = response.content.decode()
    assert "203.0.113.5/32 lies inside 203.0.113.0/24" in html
    assert ApiKey.objects.get().entries.count() == 2
    warnings = [m for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1


def test_change_with_overlapping_entries_warns(staff, user, make_key):
    key, _ = make_key(user, allow=["198.51.100.0/24"])
    data = form_data(user, [("198.51.100.0/24", ""), ("198.51.100.128/25", "")], name=key.name)
    response = staff.post(f"/admin/apikeys/apikey/{key.pk}/change/", data, follow=True)
    assert "198.51.100.128/25 lies inside 198.51.100.0/24" in response.content.decode()


@pytest.mark.parametrize(
    "rows, code_message",
    [
        pytest.param([("10.0.0.0/8", "")], "too broad", id="too-broad"),
        pytest.param([("203.0.113.5/24", "")], "Did you mean 203.0.113.0/24", id="host-bits"),
        pytest.param([("fe80::1%eth0", "")], "Enter an IP address", id="zone-id"),
        pytest.param([("203.0.113.5", ""), ("203.0.113.5/32", "")], "already in this allowlist", id="duplicate"),
    ],
)
def test_inline_entries_are_validated_by_the_same_rules(staff, user, rows, code_message):
    response = staff.post("/admin/apikeys/apikey/add/", form_data(user, rows))
    assert response.status_code == 200
    assert code_message in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_change_replaces_entries_and_bumps_the_version(staff, user, make_key):
    key, _ = make_key(user, allow=["203.0.113.5"])
    entry = key.entries.get()
    data = form_data(user, [], name="renamed")
    data.update(
        {
            "entries-TOTAL_FORMS": "2",
            "entries-INITIAL_FORMS": "1",
            "entries-0-id": str(entry.pk),
            "entries-0-api_key": str(key.pk),
            "entries-0-cidr": "203.0.113.5",
            "entries-0-label": "office",
            "entries-0-DELETE": "on",
            "entries-1-api_key": str(key.pk),
            "entries-1-cidr": "198.51.100.0/24",
            "entries-1-label": "vpn",
        }
    )
    response = staff.post(f"/admin/apikeys/apikey/{key.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    key.refresh_from_db()
    assert key.name == "renamed"
    assert list(key.entries.values_list("cidr", "label")) == [("198.51.100.0/24", "vpn")]
    assert key.version > 1


def test_changelist_shows_the_columns(staff, user, make_key):
    make_key(user, name="listed key", allow=["203.0.113.5", "203.0.113.6"])
    html = staff.get("/admin/apikeys/apikey/").content.decode()
    assert "listed key" in html and "alice" in html
    for column in ("Workspace", "Created by", "Prefix", "Allowlist mode", "Entries", "Last used at", "Revoked at"):
        assert column.lower() in html.lower()


def test_usage_logs_and_events_are_read_only(staff, user, make_key, api):
    key, secret = make_key(user)
    api(secret).get("/api/v1/whoami")
    row = UsageLog.objects.get()
    assert staff.get("/admin/usagelogs/usagelog/").status_code == 200
    assert staff.get("/admin/usagelogs/usagelog/add/").status_code == 403
    assert staff.post(f"/admin/usagelogs/usagelog/{row.pk}/change/", {"status_code": 500}).status_code == 403
    assert staff.get(f"/admin/usagelogs/usagelog/?api_key__id__exact={key.pk}").status_code == 200
    event = AuditEvent.objects.get()
    assert staff.post(f"/admin/apikeys/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_revoke_action(staff, user, make_key):
    key, _ = make_key(user)
    response = staff.post(
        "/admin/apikeys/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]}, follow=True
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked 1 key(s)" in response.content.decode()


def test_keys_are_revoked_not_deleted(staff, user, make_key):
    """Audit events protect their key: the admin offers Revoke instead of a Delete that cannot succeed."""
    key, _ = make_key(user, name="to retire")
    changelist = staff.get("/admin/apikeys/apikey/").content.decode()
    assert 'value="delete_selected"' not in changelist
    change_page = staff.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert f"/admin/apikeys/apikey/{key.pk}/delete/" not in change_page
    assert f'href="/admin/apikeys/apikey/{key.pk}/revoke/"' in change_page
    assert staff.get(f"/admin/apikeys/apikey/{key.pk}/delete/").status_code == 403

    confirm = staff.get(f"/admin/apikeys/apikey/{key.pk}/revoke/")
    assert confirm.status_code == 200 and "API_KEY_REVOKED" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    done = staff.post(f"/admin/apikeys/apikey/{key.pk}/revoke/", follow=True)
    assert done.redirect_chain[-1][0] == f"/admin/apikeys/apikey/{key.pk}/change/"
    assert "was revoked" in done.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(api_key=key, action="key.revoked").count() == 1
    assert f'href="/admin/apikeys/apikey/{key.pk}/revoke/"' not in done.content.decode()


def test_revoke_page_needs_staff(client, user, make_key):
    key, _ = make_key(user)
    client.force_login(user)
    response = client.post(f"/admin/apikeys/apikey/{key.pk}/revoke/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    key.refresh_from_db()
    assert key.revoked_at is None


def test_revoke_page_of_an_unknown_key_is_404(staff):
    assert staff.get("/admin/apikeys/apikey/not-a-uuid/revoke/").status_code == 404
    assert staff.get("/admin/apikeys/apikey/00000000-0000-0000-0000-000000000000/revoke/").status_code == 404
