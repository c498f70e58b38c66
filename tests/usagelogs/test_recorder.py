"""The usage-log writer: batches by size and by time, survives a failing database, and loses
nothing when gunicorn stops gracefully."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import OperationalError

from tests.logs import wait_for_rows
from tests.servers import ROOT, call, database_url, free_port, wait_until_up
from tests.usagelogs.helpers import team_of
from usagelogs import recorder as recorder_module
from usagelogs.models import UsageLog
from usagelogs.recorder import recorder


@pytest.mark.django_db(transaction=True)
def test_a_full_batch_is_written_at_once_without_waiting_for_the_interval(batch_mode, user, make_key, api):
    batch_mode(batch_size=5, interval=60)
    _, secret = make_key(user)
    client = api(secret)
    for _ in range(4):
        assert client.get("/api/v1/whoami").status_code == 200
    time.sleep(0.3)
    assert UsageLog.objects.count() == 0, "fewer rows than a batch wait for the interval"
    assert client.get("/api/v1/whoami").status_code == 200
    assert wait_for_rows(5, timeout=5) == 5
    assert recorder.pending == 0


@pytest.mark.django_db(transaction=True)
def test_a_partial_batch_is_written_after_the_interval(batch_mode, user, make_key, api):
    batch_mode(batch_size=1000, interval=0.2)
    _, secret = make_key(user)
    for _ in range(3):
        assert api(secret).get("/api/v1/whoami").status_code == 200
    assert wait_for_rows(3, timeout=5) == 3
    assert recorder.pending == 0


@pytest.mark.django_db(transaction=True)
def test_flush_writes_everything_queued(batch_mode, user, make_key, api):
    batch_mode(batch_size=1000, interval=60)
    _, secret = make_key(user)
    for _ in range(7):
        api(secret).get("/api/v1/whoami")
    assert recorder.flush() == 7
    assert UsageLog.objects.filter(status_code=200, decision="unrestricted").count() == 7


@pytest.mark.parametrize("mode", ["sync", "batch"])
@pytest.mark.django_db(transaction=True)
def test_a_failing_write_is_retried_logged_and_kept_and_the_response_is_still_200(
    mode, settings, batch_mode, failing_database, user, make_key, api, log_records
):
    batch_mode(batch_size=1000, interval=60)
    settings.KEYFENCE_LOG_MODE = mode
    settings.KEYFENCE_LOG_WRITE_RETRIES = 2
    _, secret = make_key(user)
    dropped = recorder.dropped

    response = api(secret).get("/api/v1/whoami")
    recorder.flush()

    assert response.status_code == 200 and response.json()["client_ip"] == "127.0.0.1"
    attempts_per_try = [1, 1, 1]  # one attempt and two retries
    assert failing_database.attempts == attempts_per_try * (2 if mode == "sync" else 1)
    errors = [r for r in log_records if r.levelname == "ERROR"]
    assert errors and all("Could not write 1 usage-log rows after 3 attempts" in e.getMessage() for e in errors)
    assert recorder.dropped == dropped and recorder.pending == 1

    failing_database.end()
    assert recorder.flush() == 1
    assert UsageLog.objects.filter(path="/api/v1/whoami", status_code=200).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_that_fails_once_succeeds_on_retry(settings, monkeypatch, user, make_key, api, log_records):
    settings.KEYFENCE_LOG_MODE = "sync"
    real_insert = recorder_module.insert_rows
    failures = [OperationalError("database is locked")]

    def flaky(rows):
        if failures:
            raise failures.pop()
        real_insert(rows)

    monkeypatch.setattr(recorder_module, "insert_rows", flaky)
    _, secret = make_key(user)
    assert api(secret).get("/api/v1/whoami").status_code == 200
    assert UsageLog.objects.count() == 1
    assert [r.levelname for r in log_records] == ["WARNING"]


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_references_vanished_does_not_sink_its_batch(batch_mode, user, make_key, api, log_records):
    batch_mode(batch_size=1000, interval=60)
    key, secret = make_key(user, allow=["127.0.0.0/24"])
    entry = key.entries.get()
    team = team_of(user)
    for _ in range(3):
        assert api(secret).get("/api/v1/whoami").status_code == 200
    # A request that deleted the entry it matched, and one in a workspace deleted since.
    recorder.record(
        {
            "workspace_id": key.workspace_id,
            "api_key_id": key.pk,
            "method": "DELETE",
            "path": "/api/v1/gone",
            "status_code": 204,
            "matched_entry_id": entry.pk,
            "matched_cidr": entry.cidr,
        }
    )
    recorder.record({"workspace_id": team.pk, "method": "GET", "path": "/api/v1/orphan", "status_code": 200})
    entry.delete()
    team.delete()

    assert recorder.flush() == 4
    gone = UsageLog.objects.get(path="/api/v1/gone")
    assert (gone.matched_entry_id, gone.matched_cidr, gone.api_key_id) == (None, "127.0.0.0/24", key.pk)
    assert UsageLog.objects.filter(path="/api/v1/whoami", matched_entry=None).count() == 3
    assert not UsageLog.objects.filter(path="/api/v1/orphan").exists()
    dropped = "Dropped a usage-log row of a deleted workspace: GET /api/v1/orphan"
    assert [r.getMessage() for r in log_records] == [dropped]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        "LOG_MODE": "batch",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "config.wsgi",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env)


@pytest.mark.multiprocess
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.django_db(transaction=True)
def test_stopping_gunicorn_writes_every_queued_row(stop_signal, user, make_key):
    _, secret = make_key(user)
    requests = 60
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port)
    try:
        wait_until_up(url, server)
        statuses: list[int] = []

        def client(count: int) -> None:
            statuses.extend(call(url, "/api/v1/whoami", secret)[0] for _ in range(count))

        threads = [threading.Thread(target=client, args=(requests // 4,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert statuses == [200] * requests
    finally:
        server.send_signal(stop_signal)
        server.wait(timeout=30)
    # Rows still queued when the signal arrived were written by the exiting workers.
    assert UsageLog.objects.filter(path="/api/v1/whoami", status_code=200).count() == requests
