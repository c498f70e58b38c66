"""The create_api_key command (SPEC §10)."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apikeys.models import ApiKey
from apikeys.secrets import hash_key

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_the_key(user):
    out, err = run(
        "--user",
        "alice",
        "--name",
        "deploy",
        "--scope",
        "keys:read",
        "--scope",
        "logs:read",
        "--allow",
        "203.0.113.0/24=office",
        "--allow",
        "2001:db8::1",
        "--report-only",
        "--expires-in",
        "30",
    )
    key_text = out.strip()
    assert re.fullmatch(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}", key_text)
    assert out == key_text + "\n" and err == ""
    key = ApiKey.objects.get(secret_hash=hash_key(key_text))
    assert key.created_by == user and key.scopes == ["keys:read", "logs:read"] and key.allowlist_mode == "report"
    assert list(key.entries.values_list("cidr", "label")) == [("203.0.113.0/24", "office"), ("2001:db8::1/128", "")]
    assert key.expires_at is not None


@pytest.mark.parametrize(
    "args, code",
    [
        pytest.param(["--user", "nobody", "--name", "x"], "USER_NOT_FOUND", id="unknown-user"),
        pytest.param(["--user", "alice", "--name", "x", "--allow", "10.0.0.0/8"], "PREFIX_TOO_BROAD", id="too-broad"),
        pytest.param(["--user", "alice", "--name", "x", "--allow", "010.0.0.1"], "INVALID_IP", id="leading-zero"),
        pytest.param(["--user", "alice", "--name", "x", "--allow", "1.2.3.4/24"], "HOST_BITS_SET", id="host-bits"),
        pytest.param(
            ["--user", "alice", "--name", "x", "--allow", "1.2.3.4", "--allow", "1.2.3.4/32"],
            "DUPLICATE_ENTRY",
            id="duplicate",
        ),
        pytest.param(["--user", "alice", "--name", "x", "--scope", "root"], "INVALID_SCOPE", id="scope"),
        pytest.param(["--user", "alice", "--name", "x" * 101], "max_length", id="long-name"),
        pytest.param(["--user", "alice", "--name", "x", "--expires-in", "0"], "INVALID_EXPIRY", id="expiry"),
        pytest.param(
            ["--user", "alice", "--name", "x", "--allow", "1.2.3.4=" + "l" * 101], "LABEL_TOO_LONG", id="label"
        ),
    ],
)
def test_bad_input_raises_with_its_code_and_creates_nothing(user, args, code):
    with pytest.raises(CommandError, match=code):
        run(*args)
    assert ApiKey.objects.count() == 0


def test_too_many_entries(user):
    args = ["--user", "alice", "--name", "x"]
    for i in range(21):
        args += ["--allow", f"198.51.100.{i}"]
    with pytest.raises(CommandError, match="TOO_MANY_ENTRIES"):
        run(*args)


def test_exit_status_and_stderr_from_the_shell(user, tmp_path):
    import os
    import subprocess
    import sys

    from tests.servers import ROOT, database_url

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "DATABASE_URL": database_url()}
    done = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--user", "nobody", "--name", "x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert "USER_NOT_FOUND" in done.stderr
