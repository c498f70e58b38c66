"""``{% key_policy_violations key as broken %}``: the policies a key in the table breaks, and why."""

from __future__ import annotations

from typing import Any

from django import template

from ..models import ApiKey
from ..policy_fields import policy_in_context
from ..policy_rules import ALLOWLIST_REQUIRED, EXPIRY_TOO_LATE, violations

register = template.Library()
# Where one page render keeps the policies it has read: one query for the whole table.
_READ = "keyfence_policies"


def _reason(code: str, key: ApiKey, days: int | None) -> str:
    if code == ALLOWLIST_REQUIRED:
        return "No IP allowlist entries, but this workspace requires them."
    if code == EXPIRY_TOO_LATE and key.expires_at is None:
        return f"Never expires, but this workspace's keys must expire within {days} days."
    return f"Expires later than the {days} days this workspace allows."


@register.simple_tag(takes_context=True)
def key_policy_violations(context: template.Context, key: ApiKey) -> list[dict[str, str]]:
    """Each policy ``key`` breaks today, as ``{"code", "reason"}``; empty when it breaks none."""
    read: dict[str, Any] | None = context.render_context.get(_READ)
    if read is None:
        read = context.render_context[_READ] = {}
    policy = policy_in_context(read, key.workspace_id)
    return [
        {"code": code, "reason": _reason(code, key, policy.max_key_lifetime_days)} for code in violations(policy, key)
    ]
