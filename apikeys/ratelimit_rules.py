"""The rules of per-key limits (SPEC §18): what a valid rate limit and monthly quota are.

Pure: no queries, no cache. The rate limit's rule is the one the workspace's ``default_rate_limit``
policy uses (:func:`policy_rules.clean_rate_limit`), so a key and a policy accept the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from .policy_rules import INVALID_RATE_LIMIT, RATE_LIMIT_PERIODS, RATE_LIMIT_REQUESTS, clean_rate_limit

INVALID_QUOTA = "INVALID_QUOTA"
MAX_MONTHLY_QUOTA = 10**12
PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
QUOTA_MESSAGE = f"Give null, or a whole number of requests a month from 1 to {MAX_MONTHLY_QUOTA:,}."
_TEXT = re.compile(r"\s*([0-9]{1,7})\s*/\s*([a-z]+)\s*")

__all__ = [
    "INVALID_QUOTA",
    "INVALID_RATE_LIMIT",
    "MAX_MONTHLY_QUOTA",
    "RATE_LIMIT_PERIODS",
    "RATE_LIMIT_REQUESTS",
    "RateLimit",
    "clean_monthly_quota",
    "clean_rate_limit",
    "limits_snapshot",
    "parse_rate_limit_text",
    "rate_limit_from_json",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` per ``per``, as request handling reads it from a key's row."""

    requests: int
    per: str

    @property
    def period_seconds(self) -> int:
        return PERIOD_SECONDS[self.per]

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "per": self.per}

    def __str__(self) -> str:
        return f"{self.requests}/{self.per}"


def rate_limit_from_json(value: Any) -> RateLimit | None:
    """A stored ``rate_limit`` (already checked when it was saved) as a :class:`RateLimit`."""
    if not isinstance(value, dict) or value.get("per") not in PERIOD_SECONDS:
        return None
    return RateLimit(int(value["requests"]), value["per"])


def clean_monthly_quota(value: Any) -> int | None:
    """``None``, or a whole number of requests from 1 to 10^12; else ``INVALID_QUOTA``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MONTHLY_QUOTA:
        raise ValidationError(QUOTA_MESSAGE, code=INVALID_QUOTA)
    return int(value)


def parse_rate_limit_text(text: str) -> dict[str, Any] | None:
    """``"100/minute"`` as ``{"requests": 100, "per": "minute"}``; ``""`` or ``"none"`` as ``None``.

    Only the shape is read here; :func:`clean_rate_limit` judges the values (``INVALID_RATE_LIMIT``).
    """
    if text.strip().lower() in ("", "none"):
        return None
    match = _TEXT.fullmatch(text.lower())
    if match is None:
        raise ValidationError(
            'Write the rate limit as N/second, N/minute or N/hour, such as "100/minute".', code=INVALID_RATE_LIMIT
        )
    return {"requests": int(match.group(1)), "per": match.group(2)}


def limits_snapshot(rate_limit: Any, monthly_quota: Any) -> dict[str, Any]:
    """The limits as the audit trail records them."""
    return {"rate_limit": rate_limit, "monthly_quota": monthly_quota}
