"""Entry input answers the contract's codes on every endpoint: one validation path for a cidr."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def keyed(user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.0/24"])
    return key, key.entries.get(), api(secret, ip="203.0.113.7")


def field_codes(response):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    return {path: [e["code"] for e in errors] for path, errors in error["fields"].items()}


@pytest.mark.parametrize(
    "value", [None, 5, True, ["203.0.113.5"], {"ip": "203.0.113.5"}], ids=["null", "number", "bool", "list", "object"]
)
def test_a_cidr_that_is_not_text_is_invalid_ip_everywhere(keyed, value):
    key, entry, client = keyed
    base = f"/api/v1/keys/{key.pk}/allowlist"
    answers = {
        "POST /keys": client.post("/api/v1/keys", {"name": "x", "allowlist": [{"cidr": value}]}, format="json"),
        "PUT allowlist": client.put(base, {"entries": [{"cidr": value}]}, format="json"),
        "POST allowlist": client.post(base, {"cidr": value}, format="json"),
        "PATCH entry": client.patch(f"{base}/{entry.pk}", {"cidr": value}, format="json"),
    }
    codes = {name: field_codes(response) for name, response in answers.items()}
    assert codes == {
        "POST /keys": {"allowlist.0.cidr": ["INVALID_IP"]},
        "PUT allowlist": {"entries.0.cidr": ["INVALID_IP"]},
        "POST allowlist": {"cidr": ["INVALID_IP"]},
        "PATCH entry": {"cidr": ["INVALID_IP"]},
    }
    entry.refresh_from_db()
    assert entry.cidr == "203.0.113.0/24"


def test_a_missing_cidr_is_still_required(keyed):
    key, _, client = keyed
    assert field_codes(client.post(f"/api/v1/keys/{key.pk}/allowlist", {}, format="json")) == {"cidr": ["REQUIRED"]}


def test_a_null_label_means_no_label_as_in_a_whole_list(user, make_key, api):
    # The calling key stays unrestricted while it edits another key's allowlist.
    _, secret = make_key(user)
    key, _ = make_key(user, name="target")
    client = api(secret)
    base = f"/api/v1/keys/{key.pk}/allowlist"
    added = client.post(base, {"cidr": "198.51.100.0/24", "label": None}, format="json")
    assert added.status_code == 201 and added.json()["label"] == ""
    entry = added.json()["id"]
    client.patch(f"{base}/{entry}", {"label": "office"}, format="json")
    changed = client.patch(f"{base}/{entry}", {"label": None}, format="json")
    assert changed.status_code == 200 and changed.json()["label"] == ""
    replaced = client.put(base, {"entries": [{"cidr": "198.51.100.0/24", "label": None}]}, format="json")
    assert replaced.status_code == 200 and replaced.json()["entries"][0]["label"] == ""
