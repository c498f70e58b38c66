"""The key object's limits in the API (SPEC §18): ``rate_limit``, ``monthly_quota``, ``monthly_usage``.

The input fields pass values through as sent: the service judges them with the one rule each,
``INVALID_RATE_LIMIT`` and ``INVALID_QUOTA``, whatever the channel.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .fields import ValidatedField
from .models import ApiKey
from .ratelimit import monthly_usage
from .ratelimit_rules import MAX_MONTHLY_QUOTA, RATE_LIMIT_PERIODS, RATE_LIMIT_REQUESTS

_USAGE = "_monthly_usage"

RATE_LIMIT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "requests": {"type": "integer", "minimum": RATE_LIMIT_REQUESTS[0], "maximum": RATE_LIMIT_REQUESTS[1]},
        "per": {"type": "string", "enum": list(RATE_LIMIT_PERIODS)},
    },
    "required": ["requests", "per"],
    "example": {"requests": 100, "per": "minute"},
    "description": "At most `requests` per `per`, counted across every server; null: no rate limit. "
    "Over it: 429 RATE_LIMITED. Bad values: INVALID_RATE_LIMIT.",
}
QUOTA_SCHEMA = {
    "type": "integer",
    "nullable": True,
    "minimum": 1,
    "maximum": MAX_MONTHLY_QUOTA,
    "description": "Requests per calendar month (UTC); null: no quota. Over it: 429 QUOTA_EXCEEDED. "
    "Bad values: INVALID_QUOTA.",
}


@extend_schema_field(RATE_LIMIT_SCHEMA)
class RateLimitField(ValidatedField):
    """``{"requests": N, "per": "second" | "minute" | "hour"}`` or null, handed to the service as sent."""

    def to_internal_value(self, data: Any) -> Any:
        return data


@extend_schema_field(QUOTA_SCHEMA)
class MonthlyQuotaField(ValidatedField):
    """A number of requests a month, or null, handed to the service as sent."""

    def to_internal_value(self, data: Any) -> Any:
        return data


@extend_schema_field(
    {
        "type": "integer",
        "nullable": True,
        "description": "Requests counted this calendar month (UTC), refused ones excluded. Null for a key "
        "with no rate limit or quota (such keys are not counted), or when the count cannot be read.",
    }
)
class MonthlyUsageField(serializers.Field):
    """This month's count, read once for every key of the response (one Redis round trip)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: ApiKey) -> int | None:
        context = cast(dict[str, Any], self.context)
        usage = context.get(_USAGE)
        if usage is None or value.pk not in usage:
            root = self.root.instance
            keys = list(root) if root is not None and not isinstance(root, ApiKey) else [value]
            usage = context[_USAGE] = monthly_usage(keys if value in keys else [value])
        return usage.get(value.pk)
