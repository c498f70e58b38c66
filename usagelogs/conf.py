"""Typed settings for the usagelogs app; every default lives here, read on access."""
from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

DEFAULTS: dict[str, Any] = {
    "LOG_RETENTION_DAYS": 90,
    "API_PREFIX": "/api/",
    # Paths under the API prefix that are not recorded: the schema and the interactive docs.
    "LOG_EXCLUDE_PATHS": ["/api/v1/schema", "/api/v1/docs"],
    # "batch" queues rows and writes them from a background thread; "sync" writes each one.
    "LOG_MODE": "batch",
    "LOG_BATCH_SIZE": 100,
    "LOG_FLUSH_INTERVAL": 1.0,
    "LOG_MAX_QUEUE": 100_000,
    "LOG_WRITE_RETRIES": 3,
    # Short delete transactions with a pause between them, so that request logging waiting for
    # the write lock (SQLite has one per database) gets in between batches.
    "PRUNE_BATCH_SIZE": 2_000,
    "PRUNE_PAUSE_SECONDS": 0.05,
}


class UsageLogSettings:
    """Read ``KEYFENCE_<NAME>`` from Django settings, falling back to ``DEFAULTS``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(django_settings, f"KEYFENCE_{name}", DEFAULTS[name])


conf = UsageLogSettings()
