"""Leaked keys (SPEC §17): GitHub's signed reports, the command line, containment by policy, Undo."""

from __future__ import annotations

import base64
import ipaddress
import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apikeys import services
from apikeys.aggregation import TooSpread, aggregate_addresses
from apikeys.models import ApiKey, AuditEvent, Containment
from apikeys.services.leaks import contain_leaked_key, containment_undo, key_for_token
from tests.browser.helpers import seed_log
from tests.policy_helpers import set_policy
from workspaces.access import RoleDenied
from workspaces.models import Membership

URL = "/api/v1/secret-scanning/github"


# ---------------------------------------------------------------------------------------------
# Pinning addresses into at most 20 entries, as containment asks the aggregation for them
# ---------------------------------------------------------------------------------------------


def pin_addresses(addresses: list[str], *, limit: int) -> list[str]:
    return [e.cidr for e in aggregate_addresses(addresses, limit=limit, soft_max_v4=32, soft_max_v6=128)]


ipv4 = st.integers(min_value=int(ipaddress.ip_address("10.0.0.0")), max_value=int(ipaddress.ip_address("10.3.255.255")))
ipv6 = st.integers(min_value=0, max_value=2**20).map(lambda n: int(ipaddress.ip_address("2001:db8::")) + n)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(ipv4.map(lambda n: str(ipaddress.IPv4Address(n))), min_size=1, max_size=300),
    st.lists(ipv6.map(lambda n: str(ipaddress.IPv6Address(n))), max_size=40),
)
def test_pinning_covers_every_address_in_at_most_20_disjoint_ranges(v4: list[str], v6: list[str]) -> None:
    addresses = v4 + v6
    cidrs = pin_addresses(addresses, limit=20)
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    assert len(networks) <= 20
    assert all(any(ipaddress.ip_address(a) in n for n in networks) for a in addresses)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert all(n.prefixlen >= (9 if n.version == 4 else 33) for n in networks)
    if len(set(addresses)) <= 20:
        assert sorted(cidrs) == sorted({str(ipaddress.ip_network(a)) for a in addresses}), "each address alone"


def test_pinning_widens_only_what_the_limit_forces() -> None:
    # 19 scattered addresses and two neighbours: only the neighbours share a range.
    scattered = [f"10.{n}.0.1" for n in range(19)]
    cidrs = pin_addresses([*scattered, "192.0.2.10", "192.0.2.11"], limit=20)
    assert "192.0.2.10/31" in cidrs and all(f"{a}/32" in cidrs for a in scattered)


def test_pinning_refuses_addresses_that_would_need_a_range_wider_than_allowed() -> None:
    everywhere = [f"{n}.0.0.1" for n in range(1, 200, 8)]  # 25 addresses across the whole space
    with pytest.raises(TooSpread):
        pin_addresses(everywhere, limit=20)


# ---------------------------------------------------------------------------------------------
# Recognising a reported token
# ---------------------------------------------------------------------------------------------


def test_a_live_key_and_its_rolled_over_secret_verify_and_nothing_else_does(user: Any, make_key: Any) -> None:
    key, secret = make_key(user)
    assert key_for_token(secret) == key
    _, new_secret = services.key_roll(key=key, actor=services.Actor(user_id=user.pk), grace_seconds=3600)
    assert key_for_token(secret) == key and key_for_token(new_secret) == key
    wrong_secret = new_secret[:-10] + ("A" if new_secret[-10] != "A" else "B") + new_secret[-9:]
    for token in (wrong_secret, new_secret[:-1], "kf_nothere1_" + "a" * 38, "", "ghp_" + "x" * 36, 12):
        assert key_for_token(token) is None


# ---------------------------------------------------------------------------------------------
# Containment by the workspace's leak_response
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def used_key(user: Any, make_key: Any) -> ApiKey:
    """A report-only key used successfully from two addresses, and refused from a third."""
    key, _ = make_key(user, allow=[("198.51.100.0/24", "old office")], mode="report")
    seed_log(user, key, ip="203.0.113.5", status=200, decision="would_block")
    seed_log(user, key, ip="203.0.113.5", status=201, decision="would_block")
    seed_log(user, key, ip="2001:db8::7", status=200, decision="would_block")
    seed_log(user, key, ip="192.0.2.99", status=401, decision="none")
    seed_log(user, key, ip="192.0.2.77", status=200, at=timezone.now() - timedelta(days=8))
    return key


def leak_event(key: ApiKey) -> AuditEvent:
    return AuditEvent.objects.get(api_key=key, action="key.leaked")


def test_restrict_pins_the_key_to_its_recent_successful_addresses_in_enforce_mode(used_key: ApiKey) -> None:
    result = contain_leaked_key(key_id=used_key.pk, source="https://github.com/acme/app/blob/main/.env")
    key = ApiKey.objects.get(pk=used_key.pk)
    assert result is not None and result.outcome == "restricted"
    assert sorted(key.entries.values_list("cidr", flat=True)) == ["2001:db8::7/128", "203.0.113.5/32"]
    assert key.allowlist_mode == "enforce" and key.revoked_at is None
    event = leak_event(key)
    assert event.actor_system == "secret scanning" and event.actor_user is None
    assert event.before == {
        "allowlist_mode": "report",
        "allowlist": [{"cidr": "198.51.100.0/24", "label": "old office"}],
    }
    assert event.after["outcome"] == "restricted" and event.after["source"].endswith(".env")


def test_restrict_revokes_a_key_with_no_recent_successful_use(user: Any, make_key: Any) -> None:
    key, _ = make_key(user)
    seed_log(user, key, ip="192.0.2.1", status=403, decision="blocked", error="IP_NOT_ALLOWED")
    assert contain_leaked_key(key_id=key.pk).outcome == "revoked"
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.get(api_key=key, action="key.revoked").after["reason"] == "leaked"


def test_notify_changes_nothing_but_records_the_leak(used_key: ApiKey) -> None:
    set_policy(used_key.workspace_id, leak_response="notify")
    before = sorted(used_key.entries.values_list("cidr", flat=True))
    assert contain_leaked_key(key_id=used_key.pk).outcome == "notified"
    key = ApiKey.objects.get(pk=used_key.pk)
    assert sorted(key.entries.values_list("cidr", flat=True)) == before and key.allowlist_mode == "report"
    assert leak_event(key).after["leak_response"] == "notify"


def test_revoke_revokes_at_once(used_key: ApiKey) -> None:
    set_policy(used_key.workspace_id, leak_response="revoke")
    assert contain_leaked_key(key_id=used_key.pk).outcome == "revoked"
    assert ApiKey.objects.get(pk=used_key.pk).revoked_at is not None


def test_a_revoked_key_needs_no_containment(user: Any, make_key: Any) -> None:
    key, _ = make_key(user)
    services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
    assert contain_leaked_key(key_id=key.pk) is None
    assert not Containment.objects.exists()


def test_the_restricted_key_keeps_working_for_its_real_servers_only(used_key: ApiKey, api: Any) -> None:
    secret = None
    key, secret = services.key_roll(key=used_key, actor=services.Actor(user_id=used_key.created_by_id))
    contain_leaked_key(key_id=key.pk)
    assert api(secret, ip="203.0.113.5").get("/api/v1/whoami").status_code == 200
    refused = api(secret, ip="192.0.2.200").get("/api/v1/whoami")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "IP_NOT_ALLOWED"


# ---------------------------------------------------------------------------------------------
# Undo containment
# ---------------------------------------------------------------------------------------------


def test_undo_restores_the_earlier_list_and_mode_once(used_key: ApiKey, user: Any) -> None:
    containment = contain_leaked_key(key_id=used_key.pk).containment
    containment_undo(containment=containment, actor=services.Actor(user_id=user.pk))
    key = ApiKey.objects.get(pk=used_key.pk)
    assert list(key.entries.values_list("cidr", "label")) == [("198.51.100.0/24", "old office")]
    assert key.allowlist_mode == "report"
    assert AuditEvent.objects.filter(api_key=key, action="key.containment_undone", actor_user=user).exists()
    with pytest.raises(ValidationError) as exc:
        containment_undo(containment=containment, actor=services.Actor(user_id=user.pk))
    assert exc.value.error_dict["containment"][0].code == "NOTHING_TO_UNDO"


def test_a_viewer_cannot_undo(used_key: ApiKey, other_user: Any) -> None:
    Membership.objects.create(workspace_id=used_key.workspace_id, user=other_user, role="viewer")
    containment = contain_leaked_key(key_id=used_key.pk).containment
    with pytest.raises(RoleDenied):
        containment_undo(containment=containment, actor=services.Actor(user_id=other_user.pk))
    assert ApiKey.objects.get(pk=used_key.pk).allowlist_mode == "enforce"


def test_the_editor_shows_the_banner_and_undo_works_from_the_page(used_key: ApiKey, user: Any) -> None:
    contain_leaked_key(key_id=used_key.pk, source="https://github.com/acme/app")
    client = Client()
    client.force_login(user)
    page = client.get(f"/settings/developer/keys/{used_key.pk}/allowlist/").content.decode()
    assert "This key was reported leaked" in page and "https://github.com/acme/app" in page
    assert "Undo containment" in page
    response = client.post(f"/settings/developer/keys/{used_key.pk}/containment/undo/")
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=used_key.pk).allowlist_mode == "report"
    assert "Undo containment" not in client.get(response["Location"]).content.decode()


# ---------------------------------------------------------------------------------------------
# POST /api/v1/secret-scanning/github
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def github_key(db: Any, tmp_path: Path) -> Any:
    """A P-256 key pair standing in for GitHub's, its public half in the configured keys file."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "github-keys.json"
    path.write_text(
        json.dumps({"public_keys": [{"key_identifier": "gh-key-1", "key": pem.decode(), "is_current": True}]})
    )
    with override_settings(KEYFENCE_SECRET_SCANNING_KEYS=str(path)):
        yield private


def post(body: bytes, private: Any = None, identifier: str = "gh-key-1", signature: str | None = None) -> Any:
    if signature is None and private is not None:
        signature = base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {"HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER": identifier}
    if signature is not None:
        headers["HTTP_GITHUB_PUBLIC_KEY_SIGNATURE"] = signature
    return APIClient(REMOTE_ADDR="140.82.115.1").post(URL, body, content_type="application/json", **headers)


def report(*tokens: str) -> bytes:
    return json.dumps(
        [
            {
                "token": t,
                "type": "keyfence_api_key",
                "url": "https://github.com/acme/app/blob/main/x",
                "source": "content",
            }
            for t in tokens
        ]
    ).encode()


def test_a_signed_report_labels_each_token_and_contains_the_live_key(
    used_key: ApiKey, github_key: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _, secret = services.key_roll(key=used_key, actor=services.Actor(user_id=used_key.created_by_id))
    fake = "kf_zzzzzzzz_" + "a" * 38
    with django_capture_on_commit_callbacks(execute=True):
        response = post(report(secret, fake), github_key)
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"token_raw": secret, "token_type": "keyfence_api_key", "label": "true_positive"},
        {"token_raw": fake, "token_type": "keyfence_api_key", "label": "false_positive"},
    ]
    assert Containment.objects.get(api_key=used_key).outcome == "restricted"


@pytest.mark.parametrize(
    ("identifier", "signature"),
    [("gh-key-1", None), ("gh-key-2", "real"), ("gh-key-1", "bm90IGEgc2lnbmF0dXJl"), ("gh-key-1", "%%%"), ("", "real")],
    ids=["no-signature", "unknown-key", "wrong-signature", "not-base64", "no-identifier"],
)
def test_a_bad_signature_is_401_and_contains_nothing(
    used_key: ApiKey, github_key: Any, identifier: str, signature: str | None
) -> None:
    body = report("kf_zzzzzzzz_" + "a" * 38)
    if signature == "real":
        signature = base64.b64encode(github_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    response = post(body, identifier=identifier, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert not Containment.objects.exists()


def test_a_signature_over_another_body_is_401(github_key: Any) -> None:
    signature = base64.b64encode(github_key.sign(report("a"), ec.ECDSA(hashes.SHA256()))).decode()
    assert post(report("b"), signature=signature).json()["error"]["code"] == "INVALID_SIGNATURE"


def test_without_configured_keys_every_report_is_401(db: Any) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    assert post(report("x"), private).status_code == 401


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b"[]", b'[{"token": 5}]', b'["kf_x"]', json.dumps([{"token": "x"}] * 1001).encode()],
    ids=["not-json", "object", "empty", "number-token", "string-item", "too-many"],
)
def test_a_malformed_signed_report_is_400(github_key: Any, body: bytes) -> None:
    response = post(body, github_key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST"


# ---------------------------------------------------------------------------------------------
# report_leaked_keys
# ---------------------------------------------------------------------------------------------


def test_the_command_reads_keys_from_stdin_and_names_them_by_prefix_only(used_key: ApiKey, monkeypatch: Any) -> None:
    _, secret = services.key_roll(key=used_key, actor=services.Actor(user_id=used_key.created_by_id))
    out = StringIO()
    monkeypatch.setattr("sys.stdin", StringIO(f"{secret}\n\nnot-a-key\n"))
    call_command("report_leaked_keys", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        f"true_positive kf_{used_key.prefix}_… {used_key.name}: restricted",
        "false_positive (not a Keyfence key)",
    ]
    assert secret not in out.getvalue()
    assert ApiKey.objects.get(pk=used_key.pk).allowlist_mode == "enforce"


def test_the_history_says_what_containment_did(used_key: ApiKey) -> None:
    from apikeys.selectors import history_for

    contain_leaked_key(key_id=used_key.pk, source="https://github.com/acme/app")
    leaked = next(event for event in history_for(key=used_key) if event.action == "key.leaked")
    assert leaked.summary == "restricted, as the restrict policy says (found at https://github.com/acme/app)"


def test_containment_goes_to_the_task_queue_and_runs_at_once_if_the_queue_refuses_it(
    used_key: ApiKey, github_key: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from apikeys import extensions

    queued: list[Any] = []
    monkeypatch.setattr(extensions, "_deferrers", [lambda function, kwargs: queued.append((function, kwargs))])
    _, secret = services.key_roll(key=used_key, actor=services.Actor(user_id=used_key.created_by_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(report(secret), github_key).json()[0]["label"] == "true_positive"
    assert not Containment.objects.exists(), "answered before containing"
    assert [(function, kwargs["key_id"]) for function, kwargs in queued] == [(contain_leaked_key, str(used_key.pk))]

    def broker_down(function: Any, kwargs: Any) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(extensions, "_deferrers", [broker_down])
    with django_capture_on_commit_callbacks(execute=True):
        post(report(secret), github_key)
    assert Containment.objects.get(api_key=used_key).outcome == "restricted"
