"""The two apps are reusable: apikeys works in a host project alone, and usagelogs adds to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT


@pytest.mark.parametrize(
    "settings, apps",
    [
        pytest.param("tests.hosts.settings_apikeys_only", ["apikeys"], id="apikeys-alone"),
        pytest.param("tests.hosts.settings_both", ["apikeys", "usagelogs"], id="both-apps"),
    ],
)
def test_a_host_project_protects_its_own_view(tmp_path: Path, settings: str, apps: list[str]) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "HOST_DB": str(tmp_path / "host.sqlite3")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.hosts.host_check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("host project ok")
    assert f"usagelogs installed: {'usagelogs' in apps}" in result.stdout


def test_apikeys_imports_nothing_from_usagelogs() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "apikeys").rglob("*.py")
        if any(
            line.startswith(("from usagelogs", "import usagelogs"))
            or line.lstrip().startswith(("from usagelogs", "import usagelogs"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []
