"""Typed settings for the notifications app; every default lives here (see apikeys.conf)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from apikeys.conf import AppSettings


class NotificationSettings(AppSettings):
    """Events, e-mail and webhooks (SPEC §16)."""

    defaults: ClassVar[dict[str, Any]] = {
        # Blocks from one address to one key within BLOCK_SPIKE_MINUTES that make a spike.
        "BLOCK_SPIKE": 20,
        "BLOCK_SPIKE_MINUTES": 10,
        # Lifts the https-only and public-address rules for webhook URLs (tests, internal use).
        "WEBHOOK_ALLOW_PRIVATE": False,
        "WEBHOOK_TIMEOUT": 10.0,
        # Seconds after the first attempt fails: about 1 min, 5 min, 30 min, 2 h, 6 h, 12 h.
        "WEBHOOK_BACKOFF": [60, 300, 1800, 7200, 21600, 43200],
        "WEBHOOK_DISABLE_AFTER_DAYS": 3,
        # How much of a receiver's answer is read (and kept in the delivery log).
        "WEBHOOK_MAX_RESPONSE_BYTES": 1024,
        # The address of this site in links of e-mails, e.g. https://keys.example.com.
        "BASE_URL": "http://127.0.0.1:8000",
    }

    @property
    def BLOCK_SPIKE(self) -> int:  # noqa: N802 - named as the setting
        return cast(int, self._get("BLOCK_SPIKE"))

    @property
    def BLOCK_SPIKE_MINUTES(self) -> int:  # noqa: N802
        return cast(int, self._get("BLOCK_SPIKE_MINUTES"))

    @property
    def WEBHOOK_ALLOW_PRIVATE(self) -> bool:  # noqa: N802
        return bool(self._get("WEBHOOK_ALLOW_PRIVATE"))

    @property
    def WEBHOOK_TIMEOUT(self) -> float:  # noqa: N802
        return float(self._get("WEBHOOK_TIMEOUT"))

    @property
    def WEBHOOK_BACKOFF(self) -> tuple[int, ...]:  # noqa: N802
        return tuple(self._get("WEBHOOK_BACKOFF"))

    @property
    def WEBHOOK_DISABLE_AFTER_DAYS(self) -> int:  # noqa: N802
        return cast(int, self._get("WEBHOOK_DISABLE_AFTER_DAYS"))

    @property
    def WEBHOOK_MAX_RESPONSE_BYTES(self) -> int:  # noqa: N802
        return cast(int, self._get("WEBHOOK_MAX_RESPONSE_BYTES"))

    @property
    def BASE_URL(self) -> str:  # noqa: N802
        return cast(str, self._get("BASE_URL")).rstrip("/")


conf = NotificationSettings()
