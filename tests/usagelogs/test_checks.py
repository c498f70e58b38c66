"""Each usagelogs system check reports its id for a bad value, and stays quiet for the defaults."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from usagelogs.checks import check_settings


def ids(**settings: Any) -> list[str]:
    with override_settings(**{f"KEYFENCE_{name}": value for name, value in settings.items()}):
        return [error.id for error in check_settings()]


def test_the_defaults_pass() -> None:
    assert check_settings() == []


@pytest.mark.parametrize(
    "name, value, expected",
    [
        pytest.param("LOG_MODE", "batched", "usagelogs.E001", id="mode-mistyped"),
        pytest.param("LOG_MODE", "SYNC", "usagelogs.E001", id="mode-upper-case"),
        pytest.param("LOG_RETENTION_DAYS", 0, "usagelogs.E002", id="retention-zero"),
        pytest.param("LOG_RETENTION_DAYS", "90", "usagelogs.E002", id="retention-text"),
        pytest.param("LOG_EXCLUDE_PATHS", "/api/v1/docs", "usagelogs.E003", id="exclude-a-string"),
        pytest.param("LOG_EXCLUDE_PATHS", ["api/v1/docs"], "usagelogs.E003", id="exclude-relative"),
        pytest.param("LOG_BATCH_SIZE", 0, "usagelogs.E004", id="batch-zero"),
        pytest.param("LOG_MAX_QUEUE", None, "usagelogs.E004", id="queue-none"),
        pytest.param("LOG_WRITE_RETRIES", 2.5, "usagelogs.E004", id="retries-fraction"),
        pytest.param("PRUNE_BATCH_SIZE", -5, "usagelogs.E004", id="prune-batch-negative"),
        pytest.param("LOG_FLUSH_INTERVAL", -1, "usagelogs.E005", id="flush-negative"),
        pytest.param("PRUNE_PAUSE_SECONDS", "0.1", "usagelogs.E005", id="pause-text"),
    ],
)
def test_a_bad_value_reports_its_check(name: str, value: Any, expected: str) -> None:
    assert ids(**{name: value}) == [expected]


def test_manage_py_check_reports_a_mistyped_log_mode() -> None:
    with override_settings(KEYFENCE_LOG_MODE="batched"), pytest.raises(SystemCheckError, match=r"usagelogs\.E001"):
        call_command("check")


def test_the_api_prefix_has_one_home() -> None:
    from apikeys.conf import conf as keys_conf
    from usagelogs.conf import conf as logs_conf

    with override_settings(KEYFENCE_API_PREFIX="/v2api/"):
        assert logs_conf.API_PREFIX == keys_conf.API_PREFIX == "/v2api/"
