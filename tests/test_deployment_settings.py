"""The production path's settings: the env file, trusted origins, the scheme from a trusted proxy,
and the demo account kept out of real databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from config.middleware import TrustedProxySchemeMiddleware
from tests.servers import ROOT

# A new user's shell: none of the test run's own settings.
CLEAN_ENV = {
    name: value
    for name, value in os.environ.items()
    if name
    not in (
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_URL",
        "REDIS_URL",
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "ENV_FILE",
        "CSRF_TRUSTED_ORIGINS",
        "TRUSTED_PROXIES",
    )
}


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**CLEAN_ENV, **env}, capture_output=True, text=True, timeout=60
    )


def readme_block(heading: str) -> str:
    """The first ``sh`` block under a README heading, as a reader would copy it."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n## {heading}\n", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


# --- the env file --------------------------------------------------------------------------------------


def make_env_file(folder: Path) -> Path:
    """The .env that ``make run`` writes, made by the Makefile's own recipe."""
    subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), ".env"], cwd=folder, check=True, env=CLEAN_ENV)
    return folder / ".env"


def test_make_run_writes_an_env_file_that_turns_debug_on_for_manage_py(tmp_path: Path) -> None:
    env_file = make_env_file(tmp_path)
    assert "DEBUG=1" in env_file.read_text().splitlines()
    shown = python(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE=str(env_file),
    )
    assert shown.stdout.strip() == "True", shown.stderr


def test_the_real_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = make_env_file(tmp_path)
    shown = python(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE=str(env_file),
        DEBUG="0",
        SECRET_KEY="s" * 50,
        ALLOWED_HOSTS="example.com",
    )
    assert shown.stdout.strip() == "False", shown.stderr


def test_the_wsgi_entry_point_reads_no_env_file_unless_told(tmp_path: Path) -> None:
    code = (
        "import os, config.wsgi; from django.conf import settings; print(repr(os.environ['ENV_FILE']), settings.DEBUG)"
    )
    production = python(code, SECRET_KEY="s" * 50, ALLOWED_HOSTS="example.com")
    assert production.stdout.split() == ["''", "False"], production.stderr
    told = python(code, ENV_FILE=str(make_env_file(tmp_path)))
    assert told.stdout.split()[1] == "True", told.stderr


def test_the_readme_command_line_examples_work_as_pasted_after_make_run(tmp_path: Path) -> None:
    """After ``make run``, a new shell has only the .env: the examples must not need anything else."""
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env = {**CLEAN_ENV, "ENV_FILE": str(make_env_file(tmp_path)), "DATABASE_URL": database}
    manage = [str(ROOT / ".venv/bin/python"), "manage.py"]
    for command in (["migrate", "--noinput"], ["keyfence_demo", "--force"]):
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    script = readme_block("Command line") + 'test -n "$KEY" && echo "key=$KEY"\n'
    pasted = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert pasted.returncode == 0, pasted.stderr
    assert re.search(r"^key=kf_[a-z0-9]{8}_\w{38}$", pasted.stdout, re.M)
    assert "Traceback" not in pasted.stderr

    without = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env={**env, "ENV_FILE": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert without.returncode != 0 and "SECRET_KEY must be set" in without.stderr


def test_csrf_trusted_origins_come_from_the_environment() -> None:
    shown = python(
        "import django; django.setup(); from django.conf import settings; print(settings.CSRF_TRUSTED_ORIGINS)",
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE="",
        SECRET_KEY="s" * 50,
        ALLOWED_HOSTS="keys.example.com",
        CSRF_TRUSTED_ORIGINS="https://keys.example.com:8443, https://admin.example.com",
    )
    assert shown.stdout.strip() == "['https://keys.example.com:8443', 'https://admin.example.com']", shown.stderr


# --- the scheme from a trusted proxy ----------------------------------------------------------------------


def scheme_seen(remote_addr: str, proto: str | None) -> bool:
    extra = {"HTTP_X_FORWARDED_PROTO": proto} if proto is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra)
    TrustedProxySchemeMiddleware(lambda r: None)(request)  # type: ignore[arg-type]
    return request.is_secure()


@override_settings(KEYFENCE_TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8:100::/48"])
@pytest.mark.parametrize(
    "remote_addr, proto, secure",
    [
        pytest.param("10.1.2.3", "https", True, id="trusted-proxy-https"),
        pytest.param("2001:db8:100::7", "https", True, id="trusted-v6-proxy-https"),
        pytest.param("::ffff:10.1.2.3", "https", True, id="trusted-proxy-as-mapped-v6"),
        pytest.param("10.1.2.3", "HTTPS, http", True, id="first-value-counts"),
        pytest.param("10.1.2.3", "http", False, id="trusted-proxy-http"),
        pytest.param("10.1.2.3", "wss", False, id="not-a-scheme"),
        pytest.param("10.1.2.3", None, False, id="no-header"),
        pytest.param("203.0.113.9", "https", False, id="untrusted-peer"),
        pytest.param("unknown", "https", False, id="unparsable-peer"),
    ],
)
def test_the_scheme_is_taken_only_from_a_trusted_proxy(remote_addr: str, proto: str | None, secure: bool) -> None:
    assert scheme_seen(remote_addr, proto) is secure


def test_no_proxy_is_trusted_by_default() -> None:
    assert scheme_seen("10.1.2.3", "https") is False
    assert scheme_seen("127.0.0.1", "https") is False


def _post_sign_in(remote_addr: str) -> int:
    """A browser's sign-in post over https from behind a TLS proxy (the app sees http)."""
    client = Client(enforce_csrf_checks=True)
    headers = {
        "REMOTE_ADDR": remote_addr,
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_FOR": "198.51.100.4",
    }
    client.get("/accounts/login/", **headers)
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct-horse-battery", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="https://testserver",
        **headers,
    )
    return response.status_code


@pytest.mark.django_db
@override_settings(KEYFENCE_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_sign_in_behind_a_tls_proxy_passes_the_origin_check(user: Any) -> None:
    assert _post_sign_in("10.0.0.2") == 302
    # The same headers from a peer that is not a proxy: the Origin is not the request's own.
    assert _post_sign_in("203.0.113.9") == 403


# --- the demo account ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_account_is_not_created_outside_the_local_default_database() -> None:
    err = StringIO()
    call_command("keyfence_demo", stdout=StringIO(), stderr=err)
    assert not get_user_model().objects.filter(username="demo").exists()
    assert "Not creating the demo account" in err.getvalue() and "--force" in err.getvalue()


@pytest.mark.django_db
def test_the_demo_account_is_created_when_asked() -> None:
    out = StringIO()
    call_command("keyfence_demo", "--force", "--url", "http://127.0.0.1:9000", stdout=out, stderr=StringIO())
    assert get_user_model().objects.get(username="demo").check_password("keyfence-demo")
    assert re.search(r"curl -s -H 'Authorization: Bearer kf_\w+' http://127.0.0.1:9000/api/v1/whoami", out.getvalue())


@pytest.mark.django_db
@override_settings(KEYFENCE_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_hsts_is_sent_on_https_through_a_trusted_proxy_only() -> None:
    client = Client()
    through_proxy = client.get("/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_PROTO="https")
    assert through_proxy["Strict-Transport-Security"] == "max-age=31536000"
    forged = client.get("/accounts/login/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in forged
