"""A real worker process against Redis: revoking a key on an app server delivers a signed key.revoked.

Also the README's receiver example, run as written against a real delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from apikeys import services
from notifications.models import WebhookEndpoint
from notifications.services import endpoint_create
from tests.notifications.receivers import receiver
from tests.servers import ROOT, app_server, call, database_url, free_port, private_redis, redis_available
from workspaces.access import Actor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]


def _require_redis_server() -> None:
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        if os.environ.get("KEYFENCE_REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is needed for the worker test")
        pytest.skip("redis-server is needed for the worker test: apt-get install -y redis-server")


def _settings(redis_url: str) -> dict:
    return {
        "HUEY": {
            "huey_class": "huey.RedisHuey",
            "name": "keyfence-test",
            "immediate": False,
            "connection": {"url": redis_url},
            "consumer": {"workers": 2, "worker_type": "thread"},
        },
        "KEYFENCE_WEBHOOK_ALLOW_PRIVATE": True,
    }


def _worker(settings: dict, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.server_settings",
        "KEYFENCE_TEST_SETTINGS": json.dumps(settings),
        "DATABASE_URL": database_url(),
    }
    handle = log.open("w")
    return subprocess.Popen(
        [sys.executable, "manage.py", "keyfence_worker"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
    )


def test_revoking_a_key_delivers_a_signed_key_revoked_through_a_real_worker(team, team_key, tmp_path, settings):
    _require_redis_server()
    settings.KEYFENCE_WEBHOOK_ALLOW_PRIVATE = True
    with private_redis() as port, receiver() as hook:
        assert redis_available(port)
        redis_url = f"redis://127.0.0.1:{port}/0"
        server_settings = _settings(redis_url)
        endpoint = WebhookEndpoint.objects.create(
            workspace=team.workspace, url=hook.url, events=["key.revoked"], secret="whsec_test-secret"
        )
        key, secret = team_key(allow=("127.0.0.1",))
        worker = _worker(server_settings, tmp_path / "worker.log")
        try:
            with app_server(settings=server_settings) as url:
                started = time.monotonic()
                status, _ = call(url, f"/api/v1/keys/{key.pk}", key=secret, method="DELETE")
                assert status == 204
                (got,) = hook.wait(1, timeout=15)
                elapsed = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(timeout=20)
    assert elapsed < 10, (tmp_path / "worker.log").read_text()
    parts = dict(item.split("=", 1) for item in got.headers["Keyfence-Signature"].split(","))
    expected = hmac.new(endpoint.secret.encode(), f"{parts['t']}.".encode() + got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    body = json.loads(got.body)
    assert body["type"] == "key.revoked" and body["data"]["key"]["prefix"] == key.prefix
    assert body["data"]["reason"] == "user"
    assert worker.returncode == 0  # it stopped cleanly on SIGTERM


def readme_receiver() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- webhook-receiver -->\n```python\n(.*?)```", readme, re.S)
    assert block, "the README's receiver example"
    return block.group(1)


@pytest.mark.django_db
def test_the_readme_receiver_example_verifies_a_real_delivery(
    team, tmp_path, allow_private, django_capture_on_commit_callbacks
):
    code = readme_receiver()
    assert len([line for line in code.splitlines() if line.strip()]) <= 14
    port = free_port()
    script = tmp_path / "receiver.py"
    script.write_text(code)
    endpoint = endpoint_create(
        workspace_id=team.workspace.pk,
        actor=Actor(user_id=team.members["admin"].pk),
        url=f"http://127.0.0.1:{port}/",
        events=["policy.changed"],
    )
    env = {**os.environ, "KEYFENCE_WEBHOOK_SECRET": endpoint.secret, "PORT": str(port)}
    process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (GET is not supported)
            except OSError:
                time.sleep(0.05)
        forged = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            data=b'{"type": "key.revoked"}',
            headers={"Keyfence-Signature": f"t={int(time.time())},v1={'0' * 64}"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 400
        with django_capture_on_commit_callbacks(execute=True):
            services.policy_update(
                workspace_id=team.workspace.pk,
                actor=services.Actor(user_id=team.members["owner"].pk),
                require_allowlist=True,
            )
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert endpoint.deliveries.get().status == "delivered"
    printed = json.loads(output.strip().splitlines()[-1])
    assert printed["type"] == "policy.changed" and printed["workspace"]["slug"] == "payments"
