"""System checks on the apikeys settings: one stable id per rule, each on the raw value."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings as django_settings
from django.core.checks import Error, register

from .conf import conf


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _proxies() -> list[Error]:
    proxies = conf.raw("TRUSTED_PROXIES")
    if isinstance(proxies, str) or not isinstance(proxies, (list, tuple)):
        return [Error("KEYFENCE_TRUSTED_PROXIES must be a list of CIDR strings.", id="apikeys.E001")]
    errors = []
    for proxy in proxies:
        try:
            ipaddress.ip_network(str(proxy).strip(), strict=False)
        except ValueError:
            errors.append(Error(f"KEYFENCE_TRUSTED_PROXIES holds {proxy!r}, which is not a CIDR.", id="apikeys.E002"))
    return errors


def _header() -> list[Error]:
    header = conf.raw("CLIENT_IP_HEADER")
    if not isinstance(header, str) or not header.strip() or not all(c.isalnum() or c == "-" for c in header):
        return [Error("KEYFENCE_CLIENT_IP_HEADER must be an HTTP header name.", id="apikeys.E003")]
    return []


def _limits() -> list[Error]:
    errors = []
    maximum = conf.raw("MAX_ALLOWLIST_ENTRIES")
    if not _is_int(maximum) or maximum < 1:
        errors.append(Error("KEYFENCE_MAX_ALLOWLIST_ENTRIES must be a positive integer.", id="apikeys.E004"))
    for name, limit in (("MIN_PREFIX_V4", 32), ("MIN_PREFIX_V6", 128)):
        value = conf.raw(name)
        if not _is_int(value) or not 0 <= value <= limit:
            errors.append(Error(f"KEYFENCE_{name} must be an integer from 0 to {limit}.", id="apikeys.E005"))
    return errors


def _scopes() -> list[Error]:
    scopes = conf.raw("SCOPES")
    names = list(scopes) if isinstance(scopes, (dict, list, tuple)) else None
    if (
        names is None
        or not all(isinstance(name, str) and name.strip() for name in names)
        or (isinstance(scopes, dict) and not all(isinstance(text, str) for text in scopes.values()))
    ):
        return [
            Error(
                "KEYFENCE_SCOPES must be a dict of scope names to descriptions, or a list of scope names.",
                id="apikeys.E006",
            )
        ]
    return []


def _cache() -> list[Error]:
    errors = []
    for name in ("CACHE_REVALIDATE_SECONDS", "CACHE_COOLDOWN_SECONDS"):
        value = conf.raw(name)
        if not _is_number(value) or not value > 0:
            errors.append(Error(f"KEYFENCE_{name} must be a positive number of seconds.", id="apikeys.E007"))
    alias = conf.raw("CACHE_ALIAS")
    if alias not in getattr(django_settings, "CACHES", {}):
        errors.append(Error(f"KEYFENCE_CACHE_ALIAS names {alias!r}, which is not in CACHES.", id="apikeys.E008"))
    for name in ("CACHE_TIMEOUT", "LAST_USED_INTERVAL", "MAX_ROLL_GRACE_SECONDS"):
        value = conf.raw(name)
        if not _is_int(value) or value < 0:
            errors.append(Error(f"KEYFENCE_{name} must be a whole number of seconds, 0 or more.", id="apikeys.E009"))
    return errors


def _rate_limits() -> list[Error]:
    if not isinstance(conf.raw("RATE_LIMIT_FAIL_OPEN"), bool):
        return [Error("KEYFENCE_RATE_LIMIT_FAIL_OPEN must be True or False.", id="apikeys.E011")]
    return []


def _api_prefix() -> list[Error]:
    prefix = conf.raw("API_PREFIX")
    if not isinstance(prefix, str) or not prefix.startswith("/") or not prefix.endswith("/") or len(prefix) < 3:
        return [
            Error(
                "KEYFENCE_API_PREFIX must be a path that starts and ends with '/', such as '/api/'.", id="apikeys.E010"
            )
        ]
    return []


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every ``KEYFENCE_*`` setting of the keys app, checked before anything reads it typed."""
    return [*_proxies(), *_header(), *_limits(), *_scopes(), *_cache(), *_api_prefix(), *_rate_limits()]
