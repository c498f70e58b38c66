"""The typed settings objects: defaults, host overrides, and one reload when a setting changes."""

from __future__ import annotations

from django.test import override_settings

from apikeys.conf import BUILTIN_SCOPES, conf
from usagelogs.conf import conf as logs_conf


def test_defaults() -> None:
    assert (conf.MAX_ALLOWLIST_ENTRIES, conf.MIN_PREFIX_V4, conf.MIN_PREFIX_V6) == (20, 9, 33)
    assert conf.API_PREFIX == "/api/" and conf.CLIENT_IP_HEADER == "X-Forwarded-For"
    assert logs_conf.LOG_RETENTION_DAYS == 90 and logs_conf.LOG_EXCLUDE_PATHS == ("/api/v1/schema", "/api/v1/docs")


def test_a_changed_setting_is_seen_and_the_old_value_comes_back() -> None:
    assert conf.MAX_ALLOWLIST_ENTRIES == 20
    with override_settings(KEYFENCE_MAX_ALLOWLIST_ENTRIES=5, KEYFENCE_CLIENT_IP_HEADER="X-Real-Client"):
        assert conf.MAX_ALLOWLIST_ENTRIES == 5
        assert conf.client_ip_header_meta == "HTTP_X_REAL_CLIENT"
    assert conf.MAX_ALLOWLIST_ENTRIES == 20
    assert conf.client_ip_header_meta == "HTTP_X_FORWARDED_FOR"


def test_host_scopes_join_the_built_in_ones() -> None:
    with override_settings(KEYFENCE_SCOPES=["orders:read"]):
        assert conf.all_scopes == {**BUILTIN_SCOPES, "orders:read": "orders:read"}
    with override_settings(KEYFENCE_SCOPES={"orders:read": "Read orders"}):
        assert conf.all_scopes["orders:read"] == "Read orders"
    assert conf.all_scopes == BUILTIN_SCOPES


def test_a_setting_that_is_not_ours_does_not_drop_what_is_kept(settings: object) -> None:
    conf.MAX_ALLOWLIST_ENTRIES  # noqa: B018 - read it, so that it is kept
    assert "MAX_ALLOWLIST_ENTRIES" in conf._kept
    with override_settings(LANGUAGE_CODE="de"):
        assert "MAX_ALLOWLIST_ENTRIES" in conf._kept


def test_a_changed_cache_setting_drops_state_built_from_it() -> None:
    calls: list[str] = []
    conf.on_reload(lambda: calls.append("reloaded"))
    try:
        with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
            assert calls == ["reloaded"]
        assert calls == ["reloaded", "reloaded"]
    finally:
        conf._listeners.pop()
