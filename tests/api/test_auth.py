"""Handling a request (SPEC §3): the order of the checks, 401 versus 403, report mode, scopes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import services
from apikeys.conf import BUILTIN_SCOPES
from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db
WWW = 'Bearer realm="api"'


def error(response):
    return response.json()["error"]


def test_allowed_ip_gets_whoami_with_client_ip(user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.0/24"])
    response = api(secret, ip="203.0.113.9").get("/api/v1/whoami")
    assert response.status_code == 200
    body = response.json()
    assert body["client_ip"] == "203.0.113.9"
    assert body["key"] == {
        "id": str(key.pk),
        "name": key.name,
        "prefix": key.prefix,
        "scopes": sorted(BUILTIN_SCOPES),
        "allowlist_mode": "enforce",
    }


def test_x_api_key_header_is_accepted(user, make_key, api):
    _, secret = make_key(user)
    assert api(secret, header="x-api-key").get("/api/v1/whoami").status_code == 200


def test_disallowed_ip_gets_403_ip_not_allowed_without_revealing_the_allowlist(user, make_key, api):
    _, secret = make_key(user, allow=["203.0.113.0/24", "2001:db8::/48"])
    response = api(secret, ip="198.51.100.7").get("/api/v1/whoami")
    assert response.status_code == 403
    assert error(response) == {
        "code": "IP_NOT_ALLOWED",
        "message": "Requests from 198.51.100.7 are not allowed for this API key.",
        "client_ip": "198.51.100.7",
    }
    assert "203.0.113" not in response.content.decode()
    assert "WWW-Authenticate" not in response.headers


def test_ipv6_client_matches_ipv6_entry(user, make_key, api):
    _, secret = make_key(user, allow=["2001:db8::/48"])
    assert api(secret, ip="2001:db8::abcd").get("/api/v1/whoami").status_code == 200
    assert api(secret, ip="2001:db9::1").get("/api/v1/whoami").status_code == 403


def test_mapped_ipv6_peer_matches_its_ipv4_entry(user, make_key, api):
    _, secret = make_key(user, allow=["198.51.100.10"])
    response = api(secret, ip="::ffff:198.51.100.10").get("/api/v1/whoami")
    assert response.status_code == 200
    assert response.json()["client_ip"] == "198.51.100.10"


def test_empty_allowlist_allows_every_ip(user, make_key, api):
    _, secret = make_key(user)
    assert api(secret, ip="192.0.2.44").get("/api/v1/whoami").status_code == 200


def test_forwarding_headers_are_ignored_by_default(user, make_key, api):
    _, secret = make_key(user, allow=["203.0.113.5"])
    client = api(secret, ip="198.51.100.7")
    response = client.get("/api/v1/whoami", HTTP_X_FORWARDED_FOR="203.0.113.5", HTTP_X_REAL_IP="203.0.113.5")
    assert response.status_code == 403
    assert error(response)["client_ip"] == "198.51.100.7"


def test_trusted_proxy_header_is_walked(user, make_key, api, settings):
    settings.KEYFENCE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _, secret = make_key(user, allow=["203.0.113.5"])
    client = api(secret, ip="10.1.2.3")
    ok = client.get("/api/v1/whoami", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5, 10.9.9.9")
    assert ok.status_code == 200 and ok.json()["client_ip"] == "203.0.113.5"
    spoofed = client.get("/api/v1/whoami", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.1")
    assert spoofed.status_code == 403 and error(spoofed)["client_ip"] == "198.51.100.1"


def test_trusted_proxy_without_header_fails_closed(user, make_key, api, settings):
    settings.KEYFENCE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _, secret = make_key(user, allow=["10.0.0.0/9"])
    response = api(secret, ip="10.1.2.3").get("/api/v1/whoami")
    assert response.status_code == 403
    assert error(response)["code"] == "IP_NOT_ALLOWED"
    assert error(response)["client_ip"] is None


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param("not-a-key", id="malformed"),
        pytest.param("kf_abcdefgh_" + "A" * 38, id="bad-checksum"),
        pytest.param("", id="empty-bearer"),
        pytest.param("kf_" + "x" * 5000, id="oversized"),
        pytest.param("kf_abc\u00e9defg_" + "A" * 38, id="non-ascii"),
    ],
)
def test_invalid_keys_get_401_invalid_api_key(api, db, presented):
    response = api(presented).get("/api/v1/whoami")
    assert response.status_code == 401
    assert error(response)["code"] == "INVALID_API_KEY"
    assert response.headers["WWW-Authenticate"] == WWW


def test_unknown_prefix_and_wrong_secret_give_identical_responses(user, make_key, api):
    key, _secret = make_key(user)
    from apikeys.secrets import generate_key, generate_prefix

    wrong_secret = generate_key(key.prefix)
    unknown_prefix = generate_key(generate_prefix())
    first = api(wrong_secret).get("/api/v1/whoami")
    second = api(unknown_prefix).get("/api/v1/whoami")
    assert first.status_code == second.status_code == 401
    assert first.content == second.content
    assert dict(first.headers) == dict(second.headers)


def test_invalid_key_from_disallowed_ip_is_401_not_403(user, make_key, api):
    key, _ = make_key(user, allow=["203.0.113.5"])
    from apikeys.secrets import generate_key

    response = api(generate_key(key.prefix), ip="198.51.100.7").get("/api/v1/whoami")
    assert response.status_code == 401
    assert error(response)["code"] == "INVALID_API_KEY"


def test_revoked_key_gets_401_api_key_revoked(user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.5"])
    services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
    # Even from a disallowed IP: the key is checked before the allowlist.
    response = api(secret, ip="198.51.100.7").get("/api/v1/whoami")
    assert response.status_code == 401
    assert error(response)["code"] == "API_KEY_REVOKED"
    assert response.headers["WWW-Authenticate"] == WWW


def test_expired_key_gets_401_api_key_expired(user, make_key, api, monkeypatch):
    _, secret = make_key(user, expires_at=timezone.now() + timedelta(hours=1))
    assert api(secret).get("/api/v1/whoami").status_code == 200
    later = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr("apikeys.authentication.timezone.now", lambda: later)
    response = api(secret).get("/api/v1/whoami")
    assert response.status_code == 401
    assert error(response)["code"] == "API_KEY_EXPIRED"


def test_revoked_code_needs_the_right_secret(user, make_key, api):
    key, _ = make_key(user)
    services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
    from apikeys.secrets import generate_key

    response = api(generate_key(key.prefix)).get("/api/v1/whoami")
    assert error(response)["code"] == "INVALID_API_KEY"


def test_inactive_owner_key_is_invalid(user, make_key, api):
    _, secret = make_key(user)
    user.is_active = False
    user.save()
    assert error(api(secret).get("/api/v1/whoami"))["code"] == "INVALID_API_KEY"


def test_no_key_gets_401_not_authenticated(api, db):
    response = api().get("/api/v1/keys")
    assert response.status_code == 401
    assert error(response)["code"] == "NOT_AUTHENTICATED"
    assert response.headers["WWW-Authenticate"] == WWW


def test_other_authorization_scheme_is_not_a_key(api, db):
    response = api().get("/api/v1/keys", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert error(response)["code"] == "NOT_AUTHENTICATED"


def test_report_mode_lets_the_request_through_and_logs_would_block(user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.5"], mode="report")
    response = api(secret, ip="198.51.100.7").get("/api/v1/whoami")
    assert response.status_code == 200
    row = UsageLog.objects.get(api_key=key)
    assert row.decision == "would_block" and row.status_code == 200


def test_missing_scope_gets_403_insufficient_scope(user, make_key, api):
    _, secret = make_key(user, scopes=["logs:read"])
    response = api(secret).get("/api/v1/keys")
    assert response.status_code == 403
    assert error(response)["code"] == "INSUFFICIENT_SCOPE"
    assert api(secret).get("/api/v1/usage-logs").status_code == 200


def test_whoami_needs_no_scope(user, make_key, api):
    _, secret = make_key(user, scopes=[])
    assert api(secret).get("/api/v1/whoami").status_code == 200


def test_scope_is_checked_after_the_allowlist(user, make_key, api):
    _, secret = make_key(user, scopes=[], allow=["203.0.113.5"])
    assert error(api(secret, ip="198.51.100.7").get("/api/v1/keys"))["code"] == "IP_NOT_ALLOWED"


def test_rolled_key_old_secret_works_during_grace_only(user, make_key, api, monkeypatch):
    key, old = make_key(user)
    _, new = services.key_roll(key=key, actor=services.Actor(user_id=user.pk), grace_seconds=60)
    assert api(new).get("/api/v1/whoami").status_code == 200
    assert api(old).get("/api/v1/whoami").status_code == 200
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr("apikeys.authentication.timezone.now", lambda: later)
    assert error(api(old).get("/api/v1/whoami"))["code"] == "INVALID_API_KEY"
    assert api(new).get("/api/v1/whoami").status_code == 200


def test_roll_without_grace_stops_the_old_secret_at_once(user, make_key, api):
    key, old = make_key(user)
    services.key_roll(key=key, actor=services.Actor(user_id=user.pk))
    assert api(old).get("/api/v1/whoami").status_code == 401


def test_last_used_is_recorded_on_success_only(user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.5"])
    api(secret, ip="198.51.100.7").get("/api/v1/whoami")
    key.refresh_from_db()
    assert key.last_used_at is None
    api(secret, ip="203.0.113.5").get("/api/v1/whoami")
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_ip == "203.0.113.5"
    assert key.entries.get().last_matched_at is not None


def test_last_used_is_written_at_most_once_a_minute(user, make_key, api):
    key, secret = make_key(user)
    client = api(secret)
    client.get("/api/v1/whoami")
    key.refresh_from_db()
    first = key.last_used_at
    for _ in range(5):
        client.get("/api/v1/whoami")
    key.refresh_from_db()
    assert key.last_used_at == first


def test_session_user_reaches_management_endpoints_but_needs_csrf(user, make_key):
    from rest_framework.test import APIClient

    make_key(user)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/keys").status_code == 200
    response = client.post("/api/v1/keys", {"name": "from the browser"}, format="json")
    assert response.status_code == 403
    assert error(response)["code"] == "PERMISSION_DENIED"
    assert "CSRF" in error(response)["message"]


def test_the_secret_is_compared_in_constant_time(user, make_key, api, monkeypatch):
    import hmac

    from apikeys import secrets as secrets_module
    from apikeys.secrets import generate_key

    key, _ = make_key(user)
    calls, real = [], hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(secrets_module.hmac, "compare_digest", spy)
    assert api(generate_key(key.prefix)).get("/api/v1/whoami").status_code == 401
    assert any(stored == key.secret_hash for _, stored in calls)
