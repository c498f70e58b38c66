"""Browser-facing protections: CSRF on every unsafe session request, cookie flags, framing,
Content-Security-Policy, and lockout of brute-force sign-in."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def unsafe_api_calls(key, entry):
    k, e = key.pk, entry.pk
    return [
        ("post", "/api/v1/keys", {"name": "csrf"}),
        ("patch", f"/api/v1/keys/{k}", {"name": "csrf"}),
        ("delete", f"/api/v1/keys/{k}", None),
        ("post", f"/api/v1/keys/{k}/roll", {}),
        ("put", f"/api/v1/keys/{k}/allowlist", {"entries": []}),
        ("post", f"/api/v1/keys/{k}/allowlist", {"cidr": "198.51.100.1"}),
        ("patch", f"/api/v1/keys/{k}/allowlist/{e}", {"label": "csrf"}),
        ("delete", f"/api/v1/keys/{k}/allowlist/{e}", None),
    ]


def test_every_unsafe_api_request_with_a_session_needs_csrf(user, make_key):
    key, _ = make_key(user, name="kept", allow=["203.0.113.5"])
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    for method, url, body in unsafe_api_calls(key, key.entries.get()):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    key.refresh_from_db()
    assert key.name == "kept" and key.revoked_at is None and key.entries.count() == 1


def test_safe_api_requests_with_a_session_work_without_csrf(user, make_key):
    make_key(user)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/keys").status_code == 200


def test_sign_in_without_csrf_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_secure_when_debug_is_off(user, settings):
    assert settings.DEBUG is False
    response = Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/v1/docs", "/admin/login/"])
def test_pages_deny_framing_and_carry_a_strict_script_policy(db, url):
    response = Client().get(url)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    body = response.content.decode()
    assert "<script>" not in body.replace(" ", "")


def test_api_docs_load_their_start_up_script_from_a_file(db):
    body = Client().get("/api/v1/docs").content.decode()
    assert 'src="/api/v1/docs?script=' in body or 'src="/api/v1/docs/?script=' in body


def login(client, password, ip="192.0.2.10", username="alice"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_username_even_with_the_right_password(user):
    client = Client()
    for _ in range(5):
        assert login(client, "wrong").status_code == 200
    locked = login(client, PASSWORD)
    assert locked.status_code == 200
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_ends_with_the_window(user, other_user):
    client = Client()
    for _ in range(5):
        login(client, "wrong")
    assert login(Client(), "another-long-passphrase", username="mallory").status_code == 302
    cache.clear()  # the window passed
    assert login(Client(), PASSWORD).status_code == 302


def test_many_usernames_from_one_ip_lock_that_ip(user):
    client = Client()
    for i in range(20):
        login(client, "wrong", username=f"guess{i}")
    assert "Too many failed" in login(client, PASSWORD).content.decode()
    assert login(Client(), PASSWORD, ip="192.0.2.99").status_code == 302


def test_a_success_resets_the_username_count(user):
    client = Client()
    for _ in range(4):
        login(client, "wrong")
    assert login(Client(), PASSWORD).status_code == 302
    for _ in range(4):
        login(client, "wrong")
    assert login(Client(), PASSWORD).status_code == 302
