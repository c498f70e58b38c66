"""Faults: the log database failing or locked, and Redis gone while it is the configured cache.

The API's answers never change because of them, nothing fails open, and once the fault clears
every row recorded meanwhile reaches the log.
"""

import sqlite3
import threading
import time

import pytest
from django.db import connection

from apikeys import services
from apikeys.errors import CacheUnavailable
from apikeys.models import ApiKey
from tests.logs import Outage, wait_for_rows
from usagelogs import recorder as recorder_module
from usagelogs.models import UsageLog
from usagelogs.recorder import recorder

pytestmark = pytest.mark.django_db(transaction=True)
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.mark.parametrize("mode", ["batch", "sync"])
def test_an_outage_of_the_log_database_changes_no_answer_and_loses_no_row(
    mode, settings, batch_mode, monkeypatch, user, make_key, api, log_records
):
    batch_mode(batch_size=10, interval=0.1)
    settings.KEYFENCE_LOG_MODE = mode
    settings.KEYFENCE_LOG_WRITE_RETRIES = 1
    _, secret = make_key(user, allow=["203.0.113.0/24"])
    dropped = recorder.dropped
    outage = Outage(recorder_module.insert_rows)
    monkeypatch.setattr(recorder_module, "insert_rows", outage)

    answers = [api(secret, ip=ip).get("/api/v1/whoami").status_code for ip in ["203.0.113.9", "198.51.100.1"] * 15]
    time.sleep(0.3)  # the writer keeps failing meanwhile
    assert answers == [200, 403] * 15
    assert outage.attempts, "the writes really failed"
    assert any(r.levelname == "ERROR" for r in log_records), "the failure is reported"
    assert UsageLog.objects.count() == 0

    outage.end()
    recorder.flush()
    # Measured: no row is lost to an outage shorter than the queue (KEYFENCE_LOG_MAX_QUEUE rows).
    assert wait_for_rows(30) == 30 and recorder.dropped == dropped
    assert UsageLog.objects.filter(status_code=403, decision="blocked").count() == 15


def hold_log_table_lock(seconds: float) -> threading.Thread:
    """Lock the usage-log table from another connection for ``seconds``."""
    name = connection.settings_dict["NAME"]
    table = UsageLog._meta.db_table
    ready = threading.Event()

    def hold():
        if connection.vendor == "sqlite":
            other = sqlite3.connect(name, timeout=30, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # in WAL mode this is the writers' lock
        else:
            import psycopg

            s = connection.settings_dict
            other = psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], dbname=name)
            other.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        ready.set()
        time.sleep(seconds)
        other.rollback() if connection.vendor != "sqlite" else other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait(10)
    return thread


def test_a_locked_log_table_delays_rows_but_neither_answers_nor_rows_are_lost(
    settings, batch_mode, user, make_key, api
):
    batch_mode(batch_size=5, interval=0.1)
    _, secret = make_key(user)
    dropped = recorder.dropped
    holder = hold_log_table_lock(1.5)
    # The first request records the key's use, a write that waits on SQLite, where a lock
    # covers the whole database; the others only queue their log rows.
    answers = [api(secret).get("/api/v1/whoami").status_code]
    started = time.monotonic()
    answers += [api(secret).get("/api/v1/whoami").status_code for _ in range(19)]
    elapsed = time.monotonic() - started
    locked_still = holder.is_alive()
    assert answers == [200] * 20
    assert elapsed < 1.0 or not locked_still, "requests do not wait for the locked table in batch mode"
    holder.join()
    recorder.flush()
    assert wait_for_rows(20) == 20 and recorder.dropped == dropped


def test_with_redis_gone_requests_fall_back_to_the_database_and_fail_closed(settings, user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.0/24"])
    settings.CACHES = DEAD_REDIS
    assert api(secret, ip="203.0.113.9").get("/api/v1/whoami").status_code == 200
    blocked = api(secret, ip="198.51.100.1").get("/api/v1/whoami")
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (403, "IP_NOT_ALLOWED")
    from apikeys.secrets import generate_key

    assert api(generate_key(key.prefix), ip="203.0.113.9").get("/api/v1/whoami").status_code == 401
    # A revocation made through the database is seen at once.
    ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert api(secret, ip="203.0.113.9").get("/api/v1/whoami").json()["error"]["code"] == "API_KEY_REVOKED"


def test_with_redis_gone_a_change_is_refused_rather_than_left_unannounced(settings, user, make_key, api):
    key, secret = make_key(user)
    settings.CACHES = DEAD_REDIS
    response = api(secret).delete(f"/api/v1/keys/{key.pk}")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "CACHE_UNAVAILABLE"
    key.refresh_from_db()
    assert key.revoked_at is None and key.events.filter(action="key.revoked").count() == 0
    with pytest.raises(CacheUnavailable):
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))


def test_with_redis_gone_a_page_change_answers_503_and_changes_nothing(settings, user, make_key):
    from django.test import Client

    key, _ = make_key(user)
    settings.CACHES = DEAD_REDIS
    client = Client()
    client.force_login(user)
    response = client.post(f"/settings/developer/keys/{key.pk}/revoke/")
    assert response.status_code == 503
    assert "shared cache cannot be reached" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None


def test_with_redis_gone_sign_in_is_refused_with_a_message_not_a_crash(settings, user):
    from django.test import Client

    settings.CACHES = DEAD_REDIS
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert "Sign-in is briefly unavailable" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_failing_last_used_write_does_not_change_the_answer(user, make_key, api, monkeypatch):
    from django.db import OperationalError

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("apikeys.usage.key_mark_used", locked)
    _, secret = make_key(user)
    response = api(secret).get("/api/v1/whoami")
    assert response.status_code == 200
    assert UsageLog.objects.filter(status_code=200).count() == 1
