"""Each apikeys system check reports its id for a bad value, and stays quiet for the defaults."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from apikeys.checks import check_settings


def ids(**settings: Any) -> list[str]:
    with override_settings(**{f"KEYFENCE_{name}": value for name, value in settings.items()}):
        return [error.id for error in check_settings()]


def test_the_defaults_pass() -> None:
    assert check_settings() == []


@pytest.mark.parametrize(
    "name, value, expected",
    [
        pytest.param("TRUSTED_PROXIES", "10.0.0.0/8", "apikeys.E001", id="proxies-a-string"),
        pytest.param("TRUSTED_PROXIES", None, "apikeys.E001", id="proxies-none"),
        pytest.param("TRUSTED_PROXIES", ["10.0.0.0/8", "proxy.internal"], "apikeys.E002", id="proxy-not-a-cidr"),
        pytest.param("CLIENT_IP_HEADER", "X Forwarded For", "apikeys.E003", id="header-with-spaces"),
        pytest.param("CLIENT_IP_HEADER", 7, "apikeys.E003", id="header-a-number"),
        pytest.param("MAX_ALLOWLIST_ENTRIES", 0, "apikeys.E004", id="max-entries-zero"),
        pytest.param("MAX_ALLOWLIST_ENTRIES", True, "apikeys.E004", id="max-entries-bool"),
        pytest.param("MIN_PREFIX_V4", 33, "apikeys.E005", id="v4-prefix-too-long"),
        pytest.param("MIN_PREFIX_V6", "33", "apikeys.E005", id="v6-prefix-text"),
        pytest.param("SCOPES", "orders:read", "apikeys.E006", id="scopes-a-string"),
        pytest.param("SCOPES", 3, "apikeys.E006", id="scopes-a-number"),
        pytest.param("SCOPES", None, "apikeys.E006", id="scopes-none"),
        pytest.param("SCOPES", {"orders:read": 1}, "apikeys.E006", id="scope-description-not-text"),
        pytest.param("SCOPES", ["orders:read", ""], "apikeys.E006", id="scope-name-blank"),
        pytest.param("CACHE_REVALIDATE_SECONDS", 0, "apikeys.E007", id="revalidate-zero"),
        pytest.param("CACHE_COOLDOWN_SECONDS", "5", "apikeys.E007", id="cooldown-text"),
        pytest.param("CACHE_ALIAS", "sessions", "apikeys.E008", id="cache-alias-unknown"),
        pytest.param("CACHE_TIMEOUT", -1, "apikeys.E009", id="cache-timeout-negative"),
        pytest.param("LAST_USED_INTERVAL", 1.5, "apikeys.E009", id="last-used-fraction"),
        pytest.param("MAX_ROLL_GRACE_SECONDS", None, "apikeys.E009", id="grace-none"),
        pytest.param("API_PREFIX", "api/", "apikeys.E010", id="prefix-no-leading-slash"),
        pytest.param("API_PREFIX", "/api", "apikeys.E010", id="prefix-no-trailing-slash"),
    ],
)
def test_a_bad_value_reports_its_check(name: str, value: Any, expected: str) -> None:
    assert ids(**{name: value}) == [expected]


@pytest.mark.parametrize("value", [{"orders:read": "Read orders"}, ["orders:read"], ("orders:read",)])
def test_host_scopes_as_a_dict_or_a_list_pass(value: Any) -> None:
    assert ids(SCOPES=value) == []


def test_manage_py_check_reports_instead_of_crashing() -> None:
    with override_settings(KEYFENCE_SCOPES="orders:read"), pytest.raises(SystemCheckError, match=r"apikeys\.E006"):
        call_command("check")
