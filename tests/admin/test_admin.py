"""The Django admin: entries inline under the same rules, the secret shown once, logs read-only."""
import re

import pytest
from django.contrib.auth import get_user_model

from apikeys.models import ApiKey, AuditEvent
from apikeys.secrets import hash_key
from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")
    client.force_login(admin)
    return client


def form_data(owner, rows, **extra):
    data = {
        "owner": owner.pk, "name": "from admin", "description": "", "scopes": ["keys:read"],
        "allowlist_mode": "enforce", "expires_at_0": "", "expires_at_1": "",
        "entries-TOTAL_FORMS": str(len(rows)), "entries-INITIAL_FORMS": "0",
        "entries-MIN_NUM_FORMS": "0", "entries-MAX_NUM_FORMS": "20",
    }
    for i, (cidr, label) in enumerate(rows):
        data[f"entries-{i}-cidr"] = cidr
        data[f"entries-{i}-label"] = label
    data.update(extra)
    return data


def test_create_shows_the_secret_once(staff, user):
    response = staff.post("/admin/apikeys/apikey/add/", form_data(user, [("203.0.113.5", "office"), ("2001:db8::/48", "")]))
    assert response.status_code == 200
    html = response.content.decode()
    secret = re.search(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}", html).group(0)
    assert "will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(secret_hash=hash_key(secret))
    assert list(key.entries.values_list("cidr", "label")) == [("203.0.113.5/32", "office"), ("2001:db8::/48", "")]
    assert AuditEvent.objects.filter(api_key=key, action="key.created").exists()
    change_page = staff.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert secret not in change_page and key.secret_hash not in change_page


@pytest.mark.parametrize("rows, code_message", [
    pytest.param([("10.0.0.0/8", "")], "too broad", id="too-broad"),
    pytest.param([("203.0.113.5/24", "")], "Did you mean 203.0.113.0/24", id="host-bits"),
    pytest.param([("fe80::1%eth0", "")], "Enter an IP address", id="zone-id"),
    pytest.param([("203.0.113.5", ""), ("203.0.113.5/32", "")], "already in this allowlist", id="duplicate"),
])
def test_inline_entries_are_validated_by_the_same_rules(staff, user, rows, code_message):
    response = staff.post("/admin/apikeys/apikey/add/", form_data(user, rows))
    assert response.status_code == 200
    assert code_message in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_change_replaces_entries_and_bumps_the_version(staff, user, make_key):
    key, _ = make_key(user, allow=["203.0.113.5"])
    entry = key.entries.get()
    data = form_data(user, [], name="renamed")
    data.update({"entries-TOTAL_FORMS": "2", "entries-INITIAL_FORMS": "1",
                 "entries-0-id": str(entry.pk), "entries-0-api_key": str(key.pk), "entries-0-cidr": "203.0.113.5",
                 "entries-0-label": "office", "entries-0-DELETE": "on",
                 "entries-1-api_key": str(key.pk), "entries-1-cidr": "198.51.100.0/24", "entries-1-label": "vpn"})
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
    for column in ("Owner", "Prefix", "Allowlist mode", "Entries", "Last used at", "Revoked at"):
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
    staff.post("/admin/apikeys/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]})
    key.refresh_from_db()
    assert key.revoked_at is not None
