"""Typed settings for the usagelogs app; every default lives here (see apikeys.conf)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from apikeys.conf import AppSettings
from apikeys.conf import conf as apikeys_conf

LOG_MODES = ("batch", "sync")


class UsageLogSettings(AppSettings):
    """The usage-log app's settings."""

    defaults: ClassVar[dict[str, Any]] = {
        "LOG_RETENTION_DAYS": 90,
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
        # PostgreSQL: how long detaching or dropping partitions may wait for a lock before it steps
        # back and retries, so that log writes never queue behind it for longer.
        "PRUNE_LOCK_TIMEOUT_MS": 50,
        # PostgreSQL: daily partitions are created this many days ahead.
        "PARTITION_DAYS_AHEAD": 7,
    }

    @property
    def API_PREFIX(self) -> str:  # noqa: N802 - named as the setting
        """The keys app's API prefix: it has one home, there."""
        return apikeys_conf.API_PREFIX

    @property
    def LOG_RETENTION_DAYS(self) -> int:  # noqa: N802
        return cast(int, self._get("LOG_RETENTION_DAYS"))

    @property
    def LOG_EXCLUDE_PATHS(self) -> tuple[str, ...]:  # noqa: N802
        return cast(tuple[str, ...], self._derived("exclude_paths", lambda: tuple(self._get("LOG_EXCLUDE_PATHS"))))

    @property
    def excluded_paths(self) -> frozenset[str]:
        """The paths left out of the log, each with and without a trailing slash: exact, not prefixes."""
        return cast(
            frozenset[str],
            self._derived(
                "excluded_paths",
                lambda: frozenset(p.rstrip("/") + end for p in self.LOG_EXCLUDE_PATHS for end in ("", "/")),
            ),
        )

    @property
    def LOG_MODE(self) -> str:  # noqa: N802
        return cast(str, self._get("LOG_MODE"))

    @property
    def LOG_BATCH_SIZE(self) -> int:  # noqa: N802
        return cast(int, self._get("LOG_BATCH_SIZE"))

    @property
    def LOG_FLUSH_INTERVAL(self) -> float:  # noqa: N802
        return cast(float, self._get("LOG_FLUSH_INTERVAL"))

    @property
    def LOG_MAX_QUEUE(self) -> int:  # noqa: N802
        return cast(int, self._get("LOG_MAX_QUEUE"))

    @property
    def LOG_WRITE_RETRIES(self) -> int:  # noqa: N802
        return cast(int, self._get("LOG_WRITE_RETRIES"))

    @property
    def PRUNE_BATCH_SIZE(self) -> int:  # noqa: N802
        return cast(int, self._get("PRUNE_BATCH_SIZE"))

    @property
    def PRUNE_PAUSE_SECONDS(self) -> float:  # noqa: N802
        return cast(float, self._get("PRUNE_PAUSE_SECONDS"))

    @property
    def PRUNE_LOCK_TIMEOUT_MS(self) -> int:  # noqa: N802
        return cast(int, self._get("PRUNE_LOCK_TIMEOUT_MS"))

    @property
    def PARTITION_DAYS_AHEAD(self) -> int:  # noqa: N802
        return cast(int, self._get("PARTITION_DAYS_AHEAD"))


conf = UsageLogSettings()
