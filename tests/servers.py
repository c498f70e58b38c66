"""Run the app in separate processes against the test database, for cross-process tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# Tests never share Redis database 0 with anything else: KEYFENCE_TEST_REDIS_URL, else the run's
# own REDIS_URL (CI passes redis://127.0.0.1:6379/1), else database 15.
REDIS_URL = os.environ.get("KEYFENCE_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def database_url() -> str:
    """A DATABASE_URL for the database this test run is using (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def redis_caches(url: str = REDIS_URL, **options: float) -> dict:
    """A ``CACHES`` setting with Redis at ``url`` as the default cache."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, **options},
        }
    }


def redis_available(port: int | None = None) -> bool:
    port = port or int(urllib.parse.urlsplit(REDIS_URL).port or 6379)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
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
def app_server(
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    bind: str = "127.0.0.1",
    settings: dict[str, Any] | None = None,
    stderr: Any = None,
) -> Iterator[str]:
    """Start gunicorn on a free port; yield its base URL (over IPv4 loopback); stop it afterwards.

    It runs with the production gunicorn config (config/gunicorn.conf.py). ``bind="::"`` listens
    dual-stack, so that IPv4 clients arrive as ``::ffff:`` peers. ``settings`` are Django settings
    laid over the test settings (JSON values; see tests/server_settings.py). ``stderr`` receives
    the server's log.
    """
    with app_process(workers=workers, env=env, bind=bind, settings=settings, stderr=stderr) as (url, _process):
        yield url


@contextmanager
def app_process(
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    bind: str = "127.0.0.1",
    settings: dict[str, Any] | None = None,
    stderr: Any = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """:func:`app_server`, yielding the gunicorn master process too, for tests that signal it."""
    port = free_port(bind)
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        **(env or {}),
    }
    if settings:
        full_env["DJANGO_SETTINGS_MODULE"] = "tests.server_settings"
        full_env["KEYFENCE_TEST_SETTINGS"] = json.dumps(settings)
    address = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "config.wsgi",
        "-b",
        address,
        "-w",
        str(workers),
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=full_env, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=20)


@contextmanager
def private_redis() -> Iterator[int]:
    """Start a Redis server of our own on a free port, with no persistence; yield its port.

    It is killed afterwards (SIGKILL: a server paused with ``DEBUG SLEEP`` would finish its
    sleep before handling SIGTERM).
    """
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--enable-debug-command",
        "local",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not redis_available(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the private Redis server did not start")
            time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)


def pause_redis(port: int, seconds: int) -> socket.socket:
    """Make the Redis server at ``port`` hang for ``seconds`` (it accepts connections, answers none).

    Returns the connection that sent ``DEBUG SLEEP``; close it when done.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
    time.sleep(0.1)  # let the server start sleeping before the caller measures anything
    return sock


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


def call(
    url: str, path: str, key: str | None = None, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    """One HTTP request; returns the status and the decoded JSON body."""
    request = urllib.request.Request(url + path, method=method, headers=headers or {})
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
