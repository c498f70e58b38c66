"""System checks on the notifications app's settings (ids notifications.E001 ...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import Error, register

from .conf import conf


@register
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    spike = conf.raw("BLOCK_SPIKE")
    if isinstance(spike, bool) or not isinstance(spike, int) or spike < 1:
        errors.append(Error("KEYFENCE_BLOCK_SPIKE must be a whole number of at least 1.", id="notifications.E001"))
    timeout = conf.raw("WEBHOOK_TIMEOUT")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        errors.append(
            Error("KEYFENCE_WEBHOOK_TIMEOUT must be seconds, above 0 and at most 60.", id="notifications.E002")
        )
    base = conf.raw("BASE_URL")
    if not isinstance(base, str) or urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        errors.append(
            Error("KEYFENCE_BASE_URL must be an http(s) URL such as https://keys.example.com.", id="notifications.E003")
        )
    return errors
