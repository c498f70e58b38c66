"""Every query is scoped to its owner: another owner's objects answer 404 and never appear."""
import csv
import io

import pytest

from apikeys.models import AllowlistEntry, ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(user, other_user, make_key, api):
    mine, my_secret = make_key(user, name="mine")
    theirs, their_secret = make_key(other_user, name="theirs", allow=["203.0.113.5"])
    api(their_secret, ip="203.0.113.5").get("/api/v1/whoami")
    api(their_secret, ip="198.51.100.66").get("/api/v1/whoami")
    return api(my_secret), theirs, theirs.entries.get()


def endpoint_matrix(key, entry):
    k, e = key.pk, entry.pk
    return [
        ("get", f"/api/v1/keys/{k}", None),
        ("patch", f"/api/v1/keys/{k}", {"name": "pwned"}),
        ("delete", f"/api/v1/keys/{k}", None),
        ("post", f"/api/v1/keys/{k}/roll", {}),
        ("get", f"/api/v1/keys/{k}/allowlist", None),
        ("put", f"/api/v1/keys/{k}/allowlist", {"entries": []}),
        ("post", f"/api/v1/keys/{k}/allowlist", {"cidr": "198.51.100.1"}),
        ("patch", f"/api/v1/keys/{k}/allowlist/{e}", {"label": "pwned"}),
        ("delete", f"/api/v1/keys/{k}/allowlist/{e}", None),
        ("get", f"/api/v1/keys/{k}/events", None),
    ]


def test_every_endpoint_answers_404_for_another_owners_key(setup):
    client, theirs, entry = setup
    for method, url, body in endpoint_matrix(theirs, entry):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    theirs.refresh_from_db()
    assert theirs.name == "theirs" and theirs.revoked_at is None
    assert list(theirs.entries.values_list("cidr", "label")) == [("203.0.113.5/32", "")]


def test_my_key_with_their_entry_id_is_404(setup, user):
    client, _, their_entry = setup
    mine = ApiKey.objects.get(owner=user)
    response = client.delete(f"/api/v1/keys/{mine.pk}/allowlist/{their_entry.pk}")
    assert response.status_code == 404
    assert AllowlistEntry.objects.filter(pk=their_entry.pk).exists()


def test_malformed_ids_are_404(setup):
    client, _, _ = setup
    assert client.get("/api/v1/keys/not-a-uuid").status_code == 404
    assert client.get("/api/v1/keys/123").status_code == 404


def test_lists_and_csv_hold_none_of_the_other_owners_rows(setup, other_user):
    client, theirs, _ = setup
    assert [k["name"] for k in client.get("/api/v1/keys").json()] == ["mine"]
    logs = client.get("/api/v1/usage-logs").json()["results"]
    assert logs and all(row["key_prefix"] != theirs.prefix for row in logs)
    by_their_key = client.get(f"/api/v1/usage-logs?api_key={theirs.pk}")
    assert by_their_key.status_code == 400
    body = b"".join(client.get("/api/v1/usage-logs/export").streaming_content).decode()
    assert theirs.prefix not in body and "198.51.100.66" not in body
