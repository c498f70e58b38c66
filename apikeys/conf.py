"""Typed settings for the apikeys app, and the mechanism both apps' settings use.

Every ``KEYFENCE_*`` default lives in the app's ``conf.py``. Each value is read from Django's
settings on first use and kept; a changed setting (``override_settings``, pytest-django's
``settings``) drops what was kept, once, through ``setting_changed``. System checks
(``checks.py``) look at the raw values; the typed properties assume the checks passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

from django.conf import settings as django_settings
from django.core.signals import setting_changed

BUILTIN_SCOPES: dict[str, str] = {
    "keys:read": "Read API keys and their allowlists",
    "keys:write": "Create, change, roll and revoke API keys",
    "logs:read": "Read and export API usage logs",
    "members:read": "List the workspace's members",
    "members:write": "Add and remove members and change their roles",
    "workspace:admin": "Change the workspace's policies and webhook endpoints",
}


class AppSettings:
    """``KEYFENCE_<NAME>`` settings with defaults, cached until a setting changes."""

    defaults: ClassVar[dict[str, Any]] = {}
    # Settings outside KEYFENCE_* whose change must also drop what is kept.
    watched: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self._kept: dict[str, Any] = {}
        self._listeners: list[Callable[[], None]] = []
        setting_changed.connect(self._setting_changed, weak=False, dispatch_uid=f"keyfence-conf-{id(self)}")

    def on_reload(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever what is kept is dropped: for state built from these settings."""
        self._listeners.append(listener)

    def raw(self, name: str) -> Any:
        """The value as configured, unchecked, for the system checks."""
        return getattr(django_settings, f"KEYFENCE_{name}", self.defaults[name])

    def _get(self, name: str) -> Any:
        try:
            return self._kept[name]
        except KeyError:
            value = self._kept[name] = self.raw(name)
            return value

    def _derived(self, name: str, build: Any) -> Any:
        # Values computed from settings (the scope table, the header's environ name) are kept too.
        try:
            return self._kept[name]
        except KeyError:
            value = self._kept[name] = build()
            return value

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting.startswith("KEYFENCE_") or setting in self.watched:
            self._kept.clear()
            for listener in self._listeners:
                listener()


class ApiKeySettings(AppSettings):
    """The keys app's settings (SPEC §11)."""

    # The key cache keeps a client for the cache that CACHES and CACHE_ALIAS name.
    watched: ClassVar[frozenset[str]] = frozenset({"CACHES"})

    defaults: ClassVar[dict[str, Any]] = {
        "TRUSTED_PROXIES": [],
        "CLIENT_IP_HEADER": "X-Forwarded-For",
        "MAX_ALLOWLIST_ENTRIES": 20,
        "MIN_PREFIX_V4": 9,
        "MIN_PREFIX_V6": 33,
        "SCOPES": {},
        "API_PREFIX": "/api/",
        "CACHE_ALIAS": "default",
        "CACHE_TIMEOUT": 300,
        # A record from the shared cache is believed for at most this long after it was read from
        # the database; then one request per process rereads the row. It bounds what a cache
        # restored from an older snapshot, or a change that no signal announced, can get wrong.
        "CACHE_REVALIDATE_SECONDS": 10,
        # After the shared cache fails or times out, it is skipped for this long (see keycache).
        "CACHE_COOLDOWN_SECONDS": 5,
        "LAST_USED_INTERVAL": 60,
        "MAX_ROLL_GRACE_SECONDS": 7 * 24 * 3600,
        # While the shared cache cannot count (down, hung), limited keys are counted by each process
        # alone (True: fail open) or refused with 503 RATE_LIMIT_UNAVAILABLE (False: fail closed).
        "RATE_LIMIT_FAIL_OPEN": True,
        # A JSON file of GitHub's secret-scanning public keys, {"public_keys": [{"key_identifier",
        # "key"}]}: the server need not reach GitHub. Empty: the endpoint refuses every report.
        "SECRET_SCANNING_KEYS": "",
    }

    @property
    def TRUSTED_PROXIES(self) -> list[str]:  # noqa: N802 - named as the setting
        return cast(list[str], self._get("TRUSTED_PROXIES"))

    @property
    def CLIENT_IP_HEADER(self) -> str:  # noqa: N802
        return cast(str, self._get("CLIENT_IP_HEADER"))

    @property
    def MAX_ALLOWLIST_ENTRIES(self) -> int:  # noqa: N802
        return cast(int, self._get("MAX_ALLOWLIST_ENTRIES"))

    @property
    def MIN_PREFIX_V4(self) -> int:  # noqa: N802
        return cast(int, self._get("MIN_PREFIX_V4"))

    @property
    def MIN_PREFIX_V6(self) -> int:  # noqa: N802
        return cast(int, self._get("MIN_PREFIX_V6"))

    @property
    def SCOPES(self) -> dict[str, str] | list[str]:  # noqa: N802
        return cast(dict[str, str] | list[str], self._get("SCOPES"))

    @property
    def API_PREFIX(self) -> str:  # noqa: N802
        """Where the API lives: the URLs, the usage log and the error pages all read it here."""
        return cast(str, self._get("API_PREFIX"))

    @property
    def CACHE_ALIAS(self) -> str:  # noqa: N802
        return cast(str, self._get("CACHE_ALIAS"))

    @property
    def CACHE_TIMEOUT(self) -> int:  # noqa: N802
        return cast(int, self._get("CACHE_TIMEOUT"))

    @property
    def CACHE_REVALIDATE_SECONDS(self) -> float:  # noqa: N802
        return cast(float, self._get("CACHE_REVALIDATE_SECONDS"))

    @property
    def CACHE_COOLDOWN_SECONDS(self) -> float:  # noqa: N802
        return cast(float, self._get("CACHE_COOLDOWN_SECONDS"))

    @property
    def LAST_USED_INTERVAL(self) -> int:  # noqa: N802
        return cast(int, self._get("LAST_USED_INTERVAL"))

    @property
    def MAX_ROLL_GRACE_SECONDS(self) -> int:  # noqa: N802
        return cast(int, self._get("MAX_ROLL_GRACE_SECONDS"))

    @property
    def SECRET_SCANNING_KEYS(self) -> str:  # noqa: N802
        return cast(str, self._get("SECRET_SCANNING_KEYS"))

    @property
    def RATE_LIMIT_FAIL_OPEN(self) -> bool:  # noqa: N802
        return cast(bool, self._get("RATE_LIMIT_FAIL_OPEN"))

    @property
    def all_scopes(self) -> dict[str, str]:
        """Built-in scopes plus those the host project adds with ``KEYFENCE_SCOPES``."""

        def build() -> dict[str, str]:
            extra = self.SCOPES
            named = {name: name for name in extra} if isinstance(extra, (list, tuple)) else extra
            return {**BUILTIN_SCOPES, **named}

        return cast(dict[str, str], self._derived("all_scopes", build))

    @property
    def client_ip_header_meta(self) -> str:
        """The WSGI environ name of the configured client-IP header."""
        return cast(
            str,
            self._derived("client_ip_header_meta", lambda: "HTTP_" + self.CLIENT_IP_HEADER.upper().replace("-", "_")),
        )


conf = ApiKeySettings()
