"""The README's production recipe, run as a new user runs it.

Two app servers started with ``make serve`` (``DEBUG=0``) share a fresh PostgreSQL database and a
private Redis, behind nginx running ``docs/nginx.conf`` with only its ports and paths replaced:
TLS ends at nginx, which sends ``Host $host`` (no port) and ``X-Forwarded-Proto``. Chromium then
signs in through nginx, creates a key, edits its allowlist from the three-dot menu, exports the
CSV, and every static asset the pages link must answer 200.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.multiprocess, pytest.mark.deploy]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
ADMIN_USER, ADMIN_PASSWORD = "operator", secrets.token_urlsafe(12)
# Variables of the test run itself that a shell of a new user would not have.
# A request straight to an app server, as nginx would send it: the peer 127.0.0.1 is a trusted
# proxy, so without X-Forwarded-For the client would be unknown (and blocked).
AS_NGINX = {"Host": "localhost", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"}
LEAKY = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "ENV_FILE",
    "TRUSTED_PROXIES",
    "CSRF_TRUSTED_ORIGINS",
    "LOG_MODE",
    "BIND",
    "WEB_CONCURRENCY",
)


def _unavailable(message: str) -> None:
    if os.environ.get("KEYFENCE_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Deployment:
    url: str
    app_urls: list[str]
    workdir: Path


def _user_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in LEAKY}
    return {**env, **extra}


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


def _wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    context = ssl._create_unverified_context()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}:\n{log.read_text()[-4000:]}", pytrace=False)
        try:
            urllib.request.urlopen(url + "/accounts/login/", timeout=2, context=context)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{log.read_text()[-4000:]}", pytrace=False)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def readme_env_file(**values: str) -> str:
    """The env file of the README's production recipe, each of its variables given ``values``.

    Every variable the README sets must be given a value here, and no other, so that the file
    this test runs with has exactly the README's names (DEBUG=0 stays as the README writes it).
    """
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme.split("\n## Production\n", 1)[1], re.S).group(1)
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    names = [line.split("=", 1)[0] for line in lines]
    assert set(names) - {"DEBUG"} == set(values), f"the README's env file sets {names}"
    assert "DEBUG=0" in lines
    return "".join(
        f"{name}={values[name]}\n" if name in values else f"{line}\n" for name, line in zip(names, lines, strict=True)
    )


def nginx_config(workdir: Path, port: int, upstreams: list[str]) -> str:
    """docs/nginx.conf with the test's port, certificate and app servers, inside a minimal http block."""
    site = (ROOT / "docs" / "nginx.conf").read_text()
    servers = "".join(f"    server {address};\n" for address in upstreams)
    site = re.sub(r"(upstream keyfence \{\n)(?:    server [^\n]+\n)+", lambda m: m.group(1) + servers, site)
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = site.replace("keys.example.com", "localhost")
    site = re.sub(r"ssl_certificate +\S+;", f"ssl_certificate {workdir / 'cert.pem'};", site)
    site = re.sub(r"ssl_certificate_key +\S+;", f"ssl_certificate_key {workdir / 'key.pem'};", site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"    {name}_temp_path {workdir / name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'nginx-error.log'} warn;\n"
        f"events {{}}\nhttp {{\n    access_log {workdir / 'nginx-access.log'};\n{temp}{site}\n}}\n"
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: Any) -> Iterator[Deployment]:
    for program in (NGINX, REDIS_SERVER, shutil.which("openssl") or "/usr/bin/openssl"):
        if not os.access(program, os.X_OK):
            _unavailable(f"{program} is needed for the deploy test: apt-get install -y nginx redis-server openssl")
    try:
        import psycopg

        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=3)
    except Exception as exc:
        _unavailable(f"PostgreSQL is needed at 127.0.0.1:5432 for the deploy test ({exc})")
    workdir = tmp_path_factory.mktemp("deploy")
    database = f"keyfence_deploy_{os.getpid()}_{secrets.token_hex(3)}"
    admin.execute(f'CREATE DATABASE "{database}"')
    processes: list[subprocess.Popen] = []
    try:
        redis_port = free_port()
        processes.append(
            _start(
                [REDIS_SERVER, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                os.environ.copy(),
                workdir / "redis.log",
            )
        )
        port = free_port()
        url = f"https://localhost:{port}"
        # The operator's env file: the README's, with this machine's addresses and a real secret.
        env_file = workdir / "keyfence.env"
        env_file.write_text(
            readme_env_file(
                SECRET_KEY=secrets.token_urlsafe(40),
                ALLOWED_HOSTS="localhost",
                DATABASE_URL=f"{POSTGRES}/{database}",
                REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                TRUSTED_PROXIES="127.0.0.1/32",
                CSRF_TRUSTED_ORIGINS=url,
                WEB_CONCURRENCY="3",
                BASE_URL=url,
                EMAIL_URL="console://",
            )
        )
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
                "-keyout",
                str(workdir / "key.pem"),
                "-out",
                str(workdir / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
        app_urls = []
        for number in (1, 2):
            bind = f"127.0.0.1:{free_port()}"
            log = workdir / f"app{number}.log"
            server = _start(["make", "serve"], _user_env(ENV_FILE=str(env_file), BIND=bind), log)
            processes.append(server)
            _wait_for_http(f"http://{bind}", server, log)
            app_urls.append(f"http://{bind}")
            if number == 1:
                # The first user, once migrations have run.
                _run(
                    [
                        str(ROOT / ".venv/bin/python"),
                        "manage.py",
                        "createsuperuser",
                        "--noinput",
                        "--username",
                        ADMIN_USER,
                        "--email",
                        "ops@example.com",
                    ],
                    _user_env(ENV_FILE=str(env_file), DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD),
                )
        # The task-queue worker, as the README runs it; with EMAIL_URL=console:// its e-mails go to its log.
        processes.append(_start(["make", "worker"], _user_env(ENV_FILE=str(env_file)), workdir / "worker.log"))
        (workdir / "nginx.conf").write_text(nginx_config(workdir, port, [u.removeprefix("http://") for u in app_urls]))
        nginx = _start(
            [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf")], os.environ.copy(), workdir / "nginx.log"
        )
        processes.append(nginx)
        _wait_for_http(url, nginx, workdir / "nginx-error.log")
        yield Deployment(url=url, app_urls=app_urls, workdir=workdir)
    finally:
        for process in reversed(processes):
            _stop(process)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def api_call(url: str, key: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url + "/api/v1/whoami", headers={"Authorization": f"Bearer {key}", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=ssl._create_unverified_context()) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def linked_assets(page: Any) -> list[str]:
    return page.evaluate("""() => [
        ...[...document.querySelectorAll('link[href]')].map(e => e.href),
        ...[...document.querySelectorAll('script[src]')].map(e => e.src),
        ...[...document.querySelectorAll('img[src]')].map(e => e.src),
    ].filter(u => u.startsWith(location.origin))""")


def test_sign_in_create_key_edit_allowlist_and_export_behind_nginx(pw_chromium: Any, deployment: Deployment) -> None:
    context = pw_chromium.new_context(
        base_url=deployment.url,
        ignore_https_errors=True,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    failures: list[str] = []
    context.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    assets: set[str] = set()
    page = context.new_page()

    page.goto("/accounts/login/")
    assets.update(linked_assets(page))
    page.get_by_label("Username").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman", "the stylesheet loaded"

    page.get_by_role("button", name="Create API Key").click()
    page.get_by_label("Name", exact=True).fill("Deploy check")
    page.get_by_role("checkbox", name=re.compile("keys:read")).check()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    secret = page.locator("#new-key").inner_text().strip()
    assets.update(linked_assets(page))

    page.goto("/settings/developer/")
    page.get_by_role("button", name="Actions for Deploy check").click()
    page.get_by_role("menuitem", name="IP Allowlist").click()
    expect(page.get_by_role("heading", name="IP Allowlist", level=1)).to_be_visible()
    page.get_by_role("button", name="Add IP", exact=True).click()
    page.get_by_role("textbox", name="IP address or CIDR").nth(0).fill("127.0.0.1")
    page.get_by_role("textbox", name="Label", exact=True).nth(0).fill("nginx host")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    assets.update(linked_assets(page))

    # nginx replaces X-Forwarded-For, so a client cannot claim another address.
    status, body = api_call(deployment.url, secret, {"X-Forwarded-For": "203.0.113.9"})
    assert (status, body["client_ip"]) == (200, "127.0.0.1")
    for app in deployment.app_urls:  # both servers share the database and the cache
        assert api_call(app, secret, AS_NGINX)[0] == 200

    page.goto("/settings/developer/logs/")
    expect(page.get_by_role("heading", name="API Usage Logs", level=1)).to_be_visible()
    assets.update(linked_assets(page))
    rows: list[dict[str, str]] = []
    for _ in range(20):  # usage logs are written in batches, within a second or so
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Export CSV").click()
        with open(download_info.value.path(), newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if row["key_prefix"]]
        if len(rows) >= 3:
            break
        time.sleep(0.5)
    # The three key requests, through nginx and to each server; the exports themselves are
    # logged too, as session requests without a key.
    assert [(row["key_name"], row["path"], row["status_code"], row["client_ip"]) for row in rows] == [
        ("Deploy check", "/api/v1/whoami", "200", "127.0.0.1")
    ] * 3

    page.goto("/admin/")
    expect(page.get_by_role("rowheader", name="API keys")).to_be_visible()
    assets.update(linked_assets(page))
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Keyfence API")
    assets.update(linked_assets(page))

    assert any("/static/css/" in asset for asset in assets)
    unanswered = [
        f"{page.request.get(asset).status} {asset}" for asset in sorted(assets) if page.request.get(asset).status != 200
    ]
    assert unanswered == []
    assert failures == []

    page.goto("/settings/developer/")
    page.get_by_role("button", name="Actions for Deploy check").click()
    page.get_by_role("menuitem", name="Revoke").click()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Deploy check was revoked")
    for app in deployment.app_urls:
        status, body = api_call(app, secret, AS_NGINX)
        assert (status, body["error"]["code"]) == (401, "API_KEY_REVOKED")
    # The revocation raised key.revoked; the worker e-mailed it to the workspace's owner.
    worker_log = deployment.workdir / "worker.log"
    for _ in range(60):
        if "Deploy check" in worker_log.read_text() and "was revoked" in worker_log.read_text():
            break
        time.sleep(0.5)
    log = worker_log.read_text()
    assert "To: ops@example.com" in log and "was revoked (reason: user)" in log, log[-3000:]
    assert f"{deployment.url}/settings/developer/" in log
    context.close()
