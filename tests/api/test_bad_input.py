"""Hostile input gets a clear 4xx with its code, never a 500, and the request is still logged."""

import json

import pytest
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db
BIG = "x" * 10_240


@pytest.fixture
def owner(user, make_key, api):
    key, secret = make_key(user)
    return key, api(secret)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_AUTHORIZATION": "Bearer " + BIG}, id="10kb-bearer"),
        pytest.param({"HTTP_X_API_KEY": BIG}, id="10kb-x-api-key"),
        pytest.param({"HTTP_AUTHORIZATION": "Bearer kf_\x00\x01_junk"}, id="control-characters"),
        pytest.param({"HTTP_AUTHORIZATION": "Bearer a b c"}, id="several-tokens"),
        pytest.param({"HTTP_AUTHORIZATION": "Bearer"}, id="bearer-without-token"),
        pytest.param({"HTTP_X_API_KEY": "kf_abcdefgh_" + "é" * 38}, id="non-ascii"),
    ],
)
def test_junk_credentials_are_401_and_logged(db, headers):
    response = APIClient(REMOTE_ADDR="192.0.2.7").get("/api/v1/keys", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_API_KEY"
    row = UsageLog.objects.get()
    assert row.status_code == 401 and row.error_code == "INVALID_API_KEY"
    assert len(row.key_prefix) <= 8


@pytest.mark.parametrize("forwarded", [BIG, "junk", "1.2.3.4, , 127.0.0.5", "\x00", ",,,,", "[::1]:notaport"])
def test_junk_forwarding_headers_never_break_a_request(user, make_key, api, settings, forwarded):
    settings.KEYFENCE_TRUSTED_PROXIES = ["127.0.0.0/8"]
    _, secret = make_key(user, allow=["203.0.113.5"])
    response = api(secret).get("/api/v1/whoami", HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "IP_NOT_ALLOWED"
    assert UsageLog.objects.get().client_ip is None


@pytest.mark.parametrize(
    "body, field",
    [
        pytest.param({"name": BIG}, "name", id="10kb-name"),
        pytest.param({"name": "x", "description": BIG}, "description", id="10kb-description"),
        pytest.param({"name": "x", "allowlist": [{"cidr": BIG}]}, "allowlist.0.cidr", id="10kb-cidr"),
        pytest.param(
            {"name": "x", "allowlist": [{"cidr": "1.2.3.4", "label": BIG}]}, "allowlist.0.label", id="10kb-label"
        ),
        pytest.param({"name": "x", "scopes": [BIG]}, "scopes.0", id="10kb-scope"),
        pytest.param({"name": None}, "name", id="null-name"),
        pytest.param({"name": ["x"]}, "name", id="list-name"),
        pytest.param({"name": {"a": 1}}, "name", id="object-name"),
        pytest.param({"name": "x", "allowlist": [{"cidr": None}]}, "allowlist.0.cidr", id="null-cidr"),
        pytest.param({"name": "x", "allowlist": [{"cidr": True}]}, "allowlist.0.cidr", id="bool-cidr"),
        pytest.param({"name": "x", "allowlist": [{"cidr": {"ip": "1.2.3.4"}}]}, "allowlist.0.cidr", id="object-cidr"),
        pytest.param({"name": "x", "expires_at": 12}, "expires_at", id="number-expiry"),
        pytest.param({"name": "x", "allowlist_mode": ["report"]}, "allowlist_mode", id="list-mode"),
    ],
)
def test_hostile_bodies_are_400_and_store_nothing(owner, body, field):
    _key, client = owner
    response = client.post("/api/v1/keys", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert ApiKey.objects.count() == 1
    assert UsageLog.objects.filter(status_code=400, error_code="VALIDATION_ERROR").count() == 1


def test_oversized_body_is_refused(owner, settings):
    _, client = owner
    payload = json.dumps({"name": "x", "description": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = client.generic("POST", "/api/v1/keys", payload, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] in {"VALIDATION_ERROR", "MALFORMED_REQUEST", "BAD_REQUEST"}
    assert UsageLog.objects.filter(status_code=response.status_code).exists()


@pytest.mark.parametrize(
    "query",
    [
        "status_code=" + "9" * 5000,
        "since=" + BIG,
        "client_ip=" + BIG,
        "api_key=" + BIG,
        "cursor=" + BIG,
        "cursor=not-base64",
        "page_size=-1",
        "page_size=abc",
    ],
)
def test_hostile_query_parameters(owner, query):
    _, client = owner
    response = client.get("/api/v1/usage-logs?" + query)
    assert response.status_code in {200, 400, 404}
    if response.status_code != 200:
        assert response.json()["error"]["code"] in {"VALIDATION_ERROR", "NOT_FOUND"}


def test_long_path_and_user_agent_are_truncated_in_the_log(owner):
    _, client = owner
    client.get("/api/v1/" + "p" * 5000, HTTP_USER_AGENT="u" * 5000)
    row = UsageLog.objects.get()
    assert row.status_code == 404 and len(row.path) == 2048 and len(row.user_agent) == 512


def test_a_crashing_view_is_a_500_in_the_envelope_and_is_logged(owner, settings):
    settings.ROOT_URLCONF = "tests.crash_urls"
    key, client = owner
    client.raise_request_exception = False
    response = client.get("/api/v1/crash")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "SERVER_ERROR", "message": "The server failed to handle this request."}
    }
    row = UsageLog.objects.get(path="/api/v1/crash")
    assert row.status_code == 500 and row.api_key_id == key.pk and row.error_code == "SERVER_ERROR"
