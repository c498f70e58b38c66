"""ip.blocked and ip.new from the usage-log writer: once per key and address in each window, under load."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications import blocks
from notifications.dedup import claim
from notifications.models import Event, EventMark
from usagelogs.models import UsageLog
from usagelogs.recorder import recorder

pytestmark = pytest.mark.django_db


def blocked_events(key, **data):
    events = Event.objects.filter(api_key=key, type="ip.blocked")
    return [e for e in events if all(e.data.get(k) == v for k, v in data.items())]


def test_a_thousand_blocked_requests_from_one_address_raise_one_event(team_key, api):
    key, secret = team_key(allow=("203.0.113.0/24",))
    client = api(secret, ip="198.51.100.7")
    for _ in range(1000):
        assert client.get("/api/v1/keys").status_code == 403
    events = Event.objects.filter(api_key=key, type="ip.blocked")
    assert events.count() == 1
    assert events[0].data == {
        "key": events[0].data["key"],
        "trigger": "first",
        "address": "198.51.100.7",
        "count": 1,
    }
    assert UsageLog.objects.filter(api_key=key, decision="blocked").count() == 1000


def test_each_address_and_each_key_has_its_own_first_block(team_key, api):
    key, secret = team_key()
    other, other_secret = team_key(name="other")
    for ip in ("198.51.100.7", "198.51.100.8", "198.51.100.7"):
        api(secret, ip=ip).get("/api/v1/keys")
        api(other_secret, ip=ip).get("/api/v1/keys")
    assert sorted(e.data["address"] for e in blocked_events(key)) == ["198.51.100.7", "198.51.100.8"]
    assert len(blocked_events(other)) == 2


def test_the_first_block_fires_again_after_24_hours(team_key):
    key, _ = team_key()
    now = timezone.now()
    row = {"api_key_id": key.pk, "client_ip": "198.51.100.7", "decision": "blocked"}
    blocks.observe([row], now=now)
    blocks.observe([row], now=now + timedelta(hours=23))
    blocks.forget()
    blocks.observe([row], now=now + timedelta(hours=23, minutes=59))
    assert len(blocked_events(key, trigger="first")) == 1
    blocks.observe([row], now=now + timedelta(hours=24, seconds=1))
    assert len(blocked_events(key, trigger="first")) == 2


def _log_blocks(key, ip, count, at):
    UsageLog.objects.bulk_create(
        UsageLog(
            workspace_id=key.workspace_id,
            api_key=key,
            key_prefix=key.prefix,
            method="GET",
            path="/api/v1/keys",
            status_code=403,
            client_ip=ip,
            decision="blocked",
            timestamp=at,
        )
        for _ in range(count)
    )


def test_a_spike_from_a_known_address_fires_once(team_key, settings):
    settings.KEYFENCE_BLOCK_SPIKE = 20
    key, _ = team_key()
    ip, start = "198.51.100.7", timezone.now() - timedelta(hours=2)
    _log_blocks(key, ip, 1, start)
    blocks.observe([{"api_key_id": key.pk, "client_ip": ip, "decision": "blocked"}], now=start)
    # An hour later, 1,000 blocks in a few minutes, written in batches of 100.
    later = start + timedelta(hours=1)
    for batch in range(10):
        at = later + timedelta(seconds=20 * batch)
        _log_blocks(key, ip, 100, at)
        blocks.observe([{"api_key_id": key.pk, "client_ip": ip, "decision": "blocked"}] * 100, now=at)
    spikes = blocked_events(key, trigger="spike")
    assert len(spikes) == 1
    assert spikes[0].data["count"] == 100 and spikes[0].data["minutes"] == 10
    assert len(blocked_events(key, trigger="first")) == 1


def test_fewer_blocks_than_the_spike_threshold_raise_no_spike(team_key, settings):
    settings.KEYFENCE_BLOCK_SPIKE = 20
    key, _ = team_key()
    ip, start = "198.51.100.7", timezone.now() - timedelta(hours=2)
    blocks.observe([{"api_key_id": key.pk, "client_ip": ip, "decision": "blocked"}], now=start)
    at = start + timedelta(hours=1)
    _log_blocks(key, ip, 19, at)
    blocks.observe([{"api_key_id": key.pk, "client_ip": ip, "decision": "blocked"}] * 19, now=at)
    assert blocked_events(key, trigger="spike") == []


def test_report_only_keys_raise_ip_new_once_in_seven_days(team_key, api):
    key, secret = team_key(mode="report")
    for _ in range(50):
        assert api(secret, ip="198.51.100.7").get("/api/v1/keys").status_code == 200
    events = Event.objects.filter(api_key=key, type="ip.new")
    assert [e.data["address"] for e in events] == ["198.51.100.7"]
    assert not Event.objects.filter(api_key=key, type="ip.blocked").exists()
    row = {"api_key_id": key.pk, "client_ip": "198.51.100.7", "decision": "would_block"}
    blocks.forget()
    blocks.observe([row], now=timezone.now() + timedelta(days=6))
    assert events.all().count() == 1
    blocks.observe([row], now=timezone.now() + timedelta(days=7, minutes=1))
    assert events.all().count() == 2


def test_allowed_requests_raise_nothing(team_key, api):
    key, secret = team_key(allow=("127.0.0.1",))
    for _ in range(20):
        assert api(secret).get("/api/v1/keys").status_code == 200
    assert not Event.objects.filter(api_key=key, type__in=["ip.blocked", "ip.new"]).exists()


@pytest.mark.django_db(transaction=True)
def test_the_batch_writer_hands_blocks_over_once_per_batch(team_key, api, batch_mode):
    batch_mode(batch_size=100, interval=0.05)
    key, secret = team_key()
    for _ in range(300):
        api(secret, ip="198.51.100.7").get("/api/v1/keys")
    recorder.stop()
    assert len(blocked_events(key)) == 1


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_exact_across_concurrent_writers(team_key):
    """Writers on many servers at once: exactly one wins each window (the database decides)."""
    key, _ = team_key()
    now, results, start = timezone.now(), [], threading.Barrier(8)

    def writer() -> None:
        start.wait()
        try:
            results.append(claim("ip.blocked", key.pk, "198.51.100.7", window=timedelta(hours=24), now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert EventMark.objects.count() == 1
