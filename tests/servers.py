"""Run the app in separate processes against the test database, for cross-process tests."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"


def database_url() -> str:
    """A DATABASE_URL for the database this test run is using (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(*, workers: int = 1, env: dict[str, str] | None = None, bind: str = "127.0.0.1") -> Iterator[str]:
    """Start gunicorn on a free port; yield its base URL (over IPv4 loopback); stop it afterwards.

    ``bind="::"`` listens dual-stack, so that IPv4 clients arrive as ``::ffff:`` peers.
    """
    port = free_port(bind)
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "DATABASE_URL": database_url(),
                **(env or {})}
    address = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", address, "-w", str(workers),
               "--graceful-timeout", "5", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=full_env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the app server did not start")


def call(url: str, path: str, key: str | None = None, method: str = "GET",
         headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One HTTP request; returns the status and the decoded JSON body."""
    request = urllib.request.Request(url + path, method=method, headers=headers or {})
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
