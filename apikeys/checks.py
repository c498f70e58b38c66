"""System checks on the apikeys settings."""
from __future__ import annotations

import ipaddress
from typing import Any

from django.core.checks import Error, register

from .conf import conf


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    proxies = conf.TRUSTED_PROXIES
    if isinstance(proxies, str) or not isinstance(proxies, (list, tuple)):
        errors.append(Error("KEYFENCE_TRUSTED_PROXIES must be a list of CIDR strings.", id="apikeys.E001"))
    else:
        for proxy in proxies:
            try:
                ipaddress.ip_network(str(proxy).strip(), strict=False)
            except ValueError:
                errors.append(Error(f"KEYFENCE_TRUSTED_PROXIES holds {proxy!r}, which is not a CIDR.", id="apikeys.E002"))
    header = conf.CLIENT_IP_HEADER
    if not isinstance(header, str) or not header.strip() or not all(c.isalnum() or c == "-" for c in header):
        errors.append(Error("KEYFENCE_CLIENT_IP_HEADER must be an HTTP header name.", id="apikeys.E003"))
    maximum = conf.MAX_ALLOWLIST_ENTRIES
    if not isinstance(maximum, int) or maximum < 1:
        errors.append(Error("KEYFENCE_MAX_ALLOWLIST_ENTRIES must be a positive integer.", id="apikeys.E004"))
    for name, limit in (("MIN_PREFIX_V4", 32), ("MIN_PREFIX_V6", 128)):
        value = getattr(conf, name)
        if not isinstance(value, int) or not 0 <= value <= limit:
            errors.append(Error(f"KEYFENCE_{name} must be an integer from 0 to {limit}.", id="apikeys.E005"))
    if not isinstance(conf.all_scopes, dict):
        errors.append(Error("KEYFENCE_SCOPES must be a dict or list of scope names.", id="apikeys.E006"))
    for name in ("CACHE_REVALIDATE_SECONDS", "CACHE_COOLDOWN_SECONDS"):
        value = getattr(conf, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            errors.append(Error(f"KEYFENCE_{name} must be a positive number of seconds.", id="apikeys.E007"))
    return errors
