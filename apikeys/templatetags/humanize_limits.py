"""How a key's limits and this month's usage read in the keys table and on its Limits page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


def _requests(count: int) -> str:
    return f"{count:,} request{'s' if count != 1 else ''}"


@register.simple_tag
def rate_text(rate_limit: Any) -> str:
    """``100 requests per minute``, or ``None``."""
    return f"{_requests(rate_limit['requests'])} per {rate_limit['per']}" if rate_limit else "None"


@register.simple_tag
def quota_text(quota: int | None) -> str:
    """``10,000 requests a month``, or ``None``."""
    return f"{_requests(quota)} a month" if quota else "None"


@register.simple_tag
def usage_text(usage: int | None, key: Any) -> str:
    """``1,234 of 10,000 requests (12 %)``, ``1,234 requests``, or why there is no count."""
    quota = key.monthly_quota
    if key.rate_limit is None and quota is None:
        return "Not counted"
    if usage is None:
        return "Unknown just now"
    if quota:
        return f"{usage:,} of {_requests(quota)} ({usage * 100 // quota} %)"
    return _requests(usage)


@register.simple_tag
def usage_of(usage: Mapping[Any, int | None], key: Any) -> int | None:
    """The key's count in a page's ``{key id: count}``."""
    return usage.get(key.pk)
