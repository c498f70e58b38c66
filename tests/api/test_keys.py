"""The keys and allowlist endpoints (SPEC §6), with their error codes and audit events."""

import pytest

from apikeys.models import ApiKey, AuditEvent
from apikeys.secrets import hash_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(user, make_key, api):
    _key, secret = make_key(user, name="admin key")
    return api(secret)


def fields(response):
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR"
    return {path: [e["code"] for e in errors] for path, errors in body["fields"].items()}


def test_create_returns_the_secret_once_and_stores_only_its_hash(owner_client, user):
    response = owner_client.post(
        "/api/v1/keys",
        {
            "name": "Deploy bot",
            "description": "CI",
            "scopes": ["keys:read"],
            "allowlist": [{"cidr": " 203.0.113.5 ", "label": "office"}, {"cidr": "2001:DB8::/48"}],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith(f"kf_{body['prefix']}_")
    assert [e["cidr"] for e in body["allowlist"]] == ["203.0.113.5/32", "2001:db8::/48"]
    assert body["allowlist"][0]["label"] == "office"
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.secret_hash == hash_key(body["key"]) and body["key"] not in stored.secret_hash
    assert "secret_hash" not in body
    listed = owner_client.get(f"/api/v1/keys/{body['id']}").json()
    assert "key" not in listed and "secret_hash" not in listed
    assert AuditEvent.objects.filter(api_key=stored, action="key.created").count() == 1


def test_create_reports_every_bad_row_by_its_dotted_path(owner_client):
    response = owner_client.post(
        "/api/v1/keys",
        {
            "name": "x",
            "allowlist": [
                {"cidr": "10.0.0.0/8"},
                {"cidr": "203.0.113.5/24"},
                {"cidr": 42},
                {"cidr": "1.2.3.4", "label": "x" * 101},
                {"cidr": "1.2.3.4/32"},
            ],
        },
        format="json",
    )
    assert fields(response) == {
        "allowlist.0.cidr": ["PREFIX_TOO_BROAD"],
        "allowlist.1.cidr": ["HOST_BITS_SET"],
        "allowlist.2.cidr": ["INVALID_IP"],
        "allowlist.3.label": ["LABEL_TOO_LONG"],
        "allowlist.4.cidr": ["DUPLICATE_ENTRY"],
    }
    assert "203.0.113.0/24" in response.json()["error"]["fields"]["allowlist.1.cidr"][0]["message"]
    assert ApiKey.objects.filter(name="x").count() == 0


def test_create_refuses_21_entries(owner_client):
    entries = [{"cidr": f"198.51.100.{i}"} for i in range(21)]
    assert fields(owner_client.post("/api/v1/keys", {"name": "x", "allowlist": entries}, format="json")) == {
        "allowlist": ["TOO_MANY_ENTRIES"]
    }


@pytest.mark.parametrize(
    "body, expected",
    [
        pytest.param({}, {"name": ["REQUIRED"]}, id="missing-name"),
        pytest.param({"name": ""}, {"name": ["BLANK"]}, id="blank-name"),
        pytest.param({"name": "x" * 101}, {"name": ["MAX_LENGTH"]}, id="name-101"),
        pytest.param({"name": 5}, {"name": ["INVALID"]}, id="name-not-string"),
        pytest.param({"name": "x", "description": "d" * 501}, {"description": ["MAX_LENGTH"]}, id="description-501"),
        pytest.param({"name": "x", "scopes": ["admin:everything"]}, {"scopes": ["INVALID_SCOPE"]}, id="unknown-scope"),
        pytest.param({"name": "x", "scopes": "keys:read"}, {"scopes": ["NOT_A_LIST"]}, id="scopes-not-list"),
        pytest.param({"name": "x", "allowlist_mode": "off"}, {"allowlist_mode": ["INVALID_CHOICE"]}, id="bad-mode"),
        pytest.param(
            {"name": "x", "allowlist": "1.2.3.4"}, {"allowlist": ["INVALID_ENTRIES"]}, id="allowlist-not-list"
        ),
        pytest.param(
            {"name": "x", "allowlist": ["1.2.3.4"]}, {"allowlist.0": ["INVALID_ENTRY"]}, id="entry-not-object"
        ),
        pytest.param(
            {"name": "x", "allowlist": [{"cidr": "1.2.3.4", "note": "x"}]},
            {"allowlist.0": ["INVALID_ENTRY"]},
            id="entry-unknown-field",
        ),
        pytest.param({"name": "x", "owner": 2}, {"owner": ["UNKNOWN_FIELD"]}, id="unknown-field"),
        pytest.param({"name": "x", "expires_at": "tomorrow"}, {"expires_at": ["INVALID"]}, id="bad-expiry"),
    ],
)
def test_create_validation_codes(owner_client, body, expected):
    assert fields(owner_client.post("/api/v1/keys", body, format="json")) == expected


@pytest.mark.parametrize(
    "raw, code",
    [
        pytest.param(b"{not json", "MALFORMED_REQUEST", id="malformed-json"),
        pytest.param(b"[1, 2]", "VALIDATION_ERROR", id="array-body"),
        pytest.param(b'"text"', "VALIDATION_ERROR", id="string-body"),
    ],
)
def test_body_that_is_not_an_object_is_a_400(owner_client, raw, code):
    response = owner_client.generic("POST", "/api/v1/keys", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_wrong_content_type_is_415(owner_client):
    response = owner_client.generic("POST", "/api/v1/keys", b"name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_a_key_cannot_grant_scopes_it_lacks(user, make_key, api):
    _, secret = make_key(user, scopes=["keys:read", "keys:write"])
    response = api(secret).post("/api/v1/keys", {"name": "x", "scopes": ["logs:read"]}, format="json")
    assert fields(response) == {"scopes": ["SCOPE_NOT_HELD"]}


def test_list_get_patch_and_revoke(owner_client, user, make_key):
    key, _ = make_key(user, name="old name")
    listed = owner_client.get("/api/v1/keys/").json()
    assert {k["name"] for k in listed} == {"admin key", "old name"}
    response = owner_client.patch(
        f"/api/v1/keys/{key.pk}", {"name": "new name", "allowlist_mode": "report"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "new name" and response.json()["allowlist_mode"] == "report"
    assert owner_client.delete(f"/api/v1/keys/{key.pk}").status_code == 204
    shown = owner_client.get(f"/api/v1/keys/{key.pk}").json()
    assert shown["status"] == "revoked" and shown["revoked_at"] is not None
    actions = list(AuditEvent.objects.filter(api_key=key).values_list("action", flat=True))
    assert set(actions) == {"key.created", "key.updated", "key.revoked"}


def test_patch_rejects_fields_it_cannot_change(owner_client, user, make_key):
    key, _ = make_key(user)
    assert fields(owner_client.patch(f"/api/v1/keys/{key.pk}", {"prefix": "aaaaaaaa"}, format="json")) == {
        "prefix": ["UNKNOWN_FIELD"]
    }


def test_roll_returns_a_new_secret(owner_client, user, make_key, api):
    key, old = make_key(user)
    response = owner_client.post(f"/api/v1/keys/{key.pk}/roll", {"grace_seconds": 0}, format="json")
    assert response.status_code == 201
    new = response.json()["key"]
    assert new != old and new.startswith(f"kf_{key.prefix}_")
    assert api(new).get("/api/v1/whoami").status_code == 200
    assert api(old).get("/api/v1/whoami").status_code == 401
    assert AuditEvent.objects.filter(api_key=key, action="key.rolled").exists()


@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1, "soon"])
def test_roll_grace_bounds(owner_client, user, make_key, grace):
    key, _ = make_key(user)
    response = owner_client.post(f"/api/v1/keys/{key.pk}/roll", {"grace_seconds": grace}, format="json")
    assert list(fields(response)) == ["grace_seconds"]


def test_revoked_key_cannot_be_rolled(owner_client, user, make_key):
    key, _ = make_key(user)
    owner_client.delete(f"/api/v1/keys/{key.pk}")
    assert fields(owner_client.post(f"/api/v1/keys/{key.pk}/roll", {}, format="json")) == {"key": ["KEY_NOT_ACTIVE"]}


def test_allowlist_get_put_post_patch_delete(owner_client, user, make_key):
    key, _ = make_key(user, allow=["203.0.113.5"])
    url = f"/api/v1/keys/{key.pk}/allowlist"
    got = owner_client.get(url).json()
    assert got["mode"] == "enforce"
    assert [(e["cidr"], e["last_matched_at"]) for e in got["entries"]] == [("203.0.113.5/32", None)]

    put = owner_client.put(
        url,
        {"entries": [{"cidr": "198.51.100.0/24", "label": "office"}, {"cidr": "198.51.100.7"}], "mode": "report"},
        format="json",
    )
    assert put.status_code == 200
    assert put.json()["mode"] == "report"
    assert [e["cidr"] for e in put.json()["entries"]] == ["198.51.100.0/24", "198.51.100.7/32"]
    assert put.json()["warnings"][0]["code"] == "ENTRY_OVERLAPS"

    added = owner_client.post(url, {"cidr": "2001:db8::/48", "label": "v6"}, format="json")
    assert added.status_code == 201 and added.json()["cidr"] == "2001:db8::/48"
    entry_url = f"{url}/{added.json()['id']}"
    patched = owner_client.patch(entry_url, {"label": "v6 office"}, format="json")
    assert patched.status_code == 200 and patched.json()["label"] == "v6 office"
    assert owner_client.delete(entry_url).status_code == 204
    assert owner_client.get(url).json()["entries"][-1]["cidr"] == "198.51.100.7/32"
    actions = set(AuditEvent.objects.filter(api_key=key).values_list("action", flat=True))
    assert {
        "allowlist.replaced",
        "allowlist.entry_added",
        "allowlist.entry_updated",
        "allowlist.entry_removed",
    } <= actions


def test_put_is_all_or_nothing(owner_client, user, make_key):
    key, _ = make_key(user, allow=["203.0.113.5"])
    response = owner_client.put(
        f"/api/v1/keys/{key.pk}/allowlist",
        {"entries": [{"cidr": "198.51.100.0/24"}, {"cidr": "10.0.0.0/8"}]},
        format="json",
    )
    assert fields(response) == {"entries.1.cidr": ["PREFIX_TOO_BROAD"]}
    assert list(key.entries.values_list("cidr", flat=True)) == ["203.0.113.5/32"]


def test_post_entry_codes(owner_client, user, make_key):
    key, _ = make_key(user, allow=[f"198.51.100.{i}" for i in range(20)])
    url = f"/api/v1/keys/{key.pk}/allowlist"
    assert fields(owner_client.post(url, {"cidr": "203.0.113.1"}, format="json")) == {"cidr": ["TOO_MANY_ENTRIES"]}
    assert fields(owner_client.post(url, {"cidr": "198.51.100.3"}, format="json")) == {"cidr": ["DUPLICATE_ENTRY"]}
    assert fields(owner_client.post(url, {"cidr": ["1.2.3.4"]}, format="json")) == {"cidr": ["INVALID_IP"]}
    assert fields(owner_client.post(url, {"cidr": "1.2.3.4", "label": 7}, format="json")) == {
        "label": ["INVALID_LABEL"]
    }
    assert key.entries.count() == 20


def test_patch_entry_to_a_duplicate_is_refused(owner_client, user, make_key):
    key, _ = make_key(user, allow=["203.0.113.5", "203.0.113.6"])
    entry = key.entries.get(cidr="203.0.113.6/32")
    response = owner_client.patch(f"/api/v1/keys/{key.pk}/allowlist/{entry.pk}", {"cidr": "203.0.113.5"}, format="json")
    assert fields(response) == {"cidr": ["DUPLICATE_ENTRY"]}


def test_events_list_the_audit_trail(owner_client, user, make_key):
    key, _ = make_key(user)
    owner_client.post(f"/api/v1/keys/{key.pk}/allowlist", {"cidr": "203.0.113.5"}, format="json")
    events = owner_client.get(f"/api/v1/keys/{key.pk}/events").json()["results"]
    assert [e["action"] for e in events] == ["allowlist.entry_added", "key.created"]
    assert events[0]["actor"]["type"] == "api_key"
    assert events[0]["after"] == {"cidr": "203.0.113.5/32", "label": ""}
    assert events[0]["client_ip"] == "127.0.0.1"


def test_unknown_route_and_method_use_the_envelope(owner_client):
    missing = owner_client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = owner_client.put("/api/v1/keys", {}, format="json")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_trailing_slash_is_optional(owner_client):
    assert owner_client.get("/api/v1/keys").status_code == 200
    assert owner_client.get("/api/v1/keys/").status_code == 200
    assert owner_client.get("/api/v1/whoami/").status_code == 200


def test_schema_and_docs_work_offline(api, db):
    schema = api().get("/api/v1/schema")
    assert schema.status_code == 200 and b"/api/v1/keys/{key_id}/allowlist" in schema.content
    docs = api().get("/api/v1/docs").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
