"""Typed settings for the apikeys app.

Every ``KEYFENCE_*`` default lives here. Values are read from Django settings on each access,
so ``override_settings`` works in tests.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

BUILTIN_SCOPES: dict[str, str] = {
    "keys:read": "Read API keys and their allowlists",
    "keys:write": "Create, change, roll and revoke API keys",
    "logs:read": "Read and export API usage logs",
}

DEFAULTS: dict[str, Any] = {
    "TRUSTED_PROXIES": [],
    "CLIENT_IP_HEADER": "X-Forwarded-For",
    "MAX_ALLOWLIST_ENTRIES": 20,
    "MIN_PREFIX_V4": 9,
    "MIN_PREFIX_V6": 33,
    "SCOPES": {},
    "API_PREFIX": "/api/",
    "CACHE_ALIAS": "default",
    "CACHE_TIMEOUT": 300,
    # A record from the shared cache is believed for at most this long after it was read from the
    # database; then one request per process rereads the row. It bounds what a cache restored
    # from an older snapshot, or a change that no signal announced, can get wrong.
    "CACHE_REVALIDATE_SECONDS": 10,
    # After the shared cache fails or times out, it is skipped for this long (see keycache).
    "CACHE_COOLDOWN_SECONDS": 5,
    "LAST_USED_INTERVAL": 60,
    "MAX_ROLL_GRACE_SECONDS": 7 * 24 * 3600,
}


class ApiKeySettings:
    """Read ``KEYFENCE_<NAME>`` from Django settings, falling back to ``DEFAULTS``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(django_settings, f"KEYFENCE_{name}", DEFAULTS[name])

    @property
    def all_scopes(self) -> dict[str, str]:
        """Built-in scopes plus those the host project adds with ``KEYFENCE_SCOPES``."""
        extra = self.SCOPES
        if isinstance(extra, (list, tuple)):
            extra = {name: name for name in extra}
        return {**BUILTIN_SCOPES, **extra}

    @property
    def client_ip_header_meta(self) -> str:
        """The WSGI environ name of the configured client-IP header."""
        return "HTTP_" + self.CLIENT_IP_HEADER.upper().replace("-", "_")


conf = ApiKeySettings()
