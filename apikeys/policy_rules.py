"""The rules of workspace policies (SPEC §14): what a valid policy is, and what it asks of keys.

No queries here. ``services.policies`` reads and writes policies; the key and allowlist services
call :func:`allowlist_errors` and :func:`expiry_errors`, so that every channel obeys the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import LeakResponse, WorkspacePolicy
from .networks import EntryInput, validate_allowlist

if TYPE_CHECKING:
    from .models import ApiKey

INVALID = "INVALID"
INVALID_LIFETIME = "INVALID_LIFETIME"
INVALID_INACTIVE_DAYS = "INVALID_INACTIVE_DAYS"
INVALID_LEAK_RESPONSE = "INVALID_LEAK_RESPONSE"
INVALID_RATE_LIMIT = "INVALID_RATE_LIMIT"
UNKNOWN_FIELD = "UNKNOWN_FIELD"
ALLOWLIST_REQUIRED = "ALLOWLIST_REQUIRED"
EXPIRY_TOO_LATE = "EXPIRY_TOO_LATE"

LIFETIME_DAYS = (1, 3650)
INACTIVE_DAYS = (7, 3650)
RATE_LIMIT_REQUESTS = (1, 1_000_000)
RATE_LIMIT_PERIODS = ("second", "minute", "hour")

_DAYS = "Give null, or a whole number of days from {} to {}."
MESSAGES = {
    INVALID: "Give true or false.",
    INVALID_LIFETIME: _DAYS.format(*LIFETIME_DAYS),
    INVALID_INACTIVE_DAYS: _DAYS.format(*INACTIVE_DAYS),
    INVALID_LEAK_RESPONSE: "Choose notify, restrict or revoke.",
    INVALID_RATE_LIMIT: (
        f'Give null, or {{"requests": N, "per": "second", "minute" or "hour"}} with N from {RATE_LIMIT_REQUESTS[0]} '
        f"to {RATE_LIMIT_REQUESTS[1]}."
    ),
    UNKNOWN_FIELD: "This field is not recognised.",
    ALLOWLIST_REQUIRED: "This workspace requires every key to have at least one IP allowlist entry.",
    EXPIRY_TOO_LATE: "This workspace's keys must expire within {days} days, by {latest} UTC at the latest.",
}


def _error(code: str, **params: Any) -> ValidationError:
    return ValidationError(MESSAGES[code].format(**params) if params else MESSAGES[code], code=code)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _error(INVALID)
    return value


def _days_in(bounds: tuple[int, int], code: str) -> Callable[[Any], int | None]:
    def clean(value: Any) -> int | None:
        if value is None:
            return None
        if not (_whole(value) and bounds[0] <= value <= bounds[1]):
            raise _error(code)
        return int(value)

    return clean


def _leak_response(value: Any) -> str:
    if not isinstance(value, str) or value not in LeakResponse.values:
        raise _error(INVALID_LEAK_RESPONSE)
    return value


def clean_rate_limit(value: Any) -> dict[str, Any] | None:
    """``None``, or ``{"requests": N, "per": ...}`` with N from 1 to 1,000,000; else ``INVALID_RATE_LIMIT``.

    The one rule for a key's ``rate_limit`` and the workspace's ``default_rate_limit`` (SPEC §18).
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"requests", "per"}:
        raise _error(INVALID_RATE_LIMIT)
    requests, per = value["requests"], value["per"]
    low, high = RATE_LIMIT_REQUESTS
    if not (_whole(requests) and low <= requests <= high) or not isinstance(per, str) or per not in RATE_LIMIT_PERIODS:
        raise _error(INVALID_RATE_LIMIT)
    return {"requests": requests, "per": per}


def _allowlist(value: Any) -> list[dict[str, str]]:
    # The §2 rules, with the same codes as a key's allowlist; validated entries are accepted as they are.
    if isinstance(value, (list, tuple)):
        value = [{"cidr": e.cidr, "label": e.label} if isinstance(e, EntryInput) else e for e in value]
    # A default list has no window: a new key's entries start when it is created.
    return [{"cidr": entry.cidr, "label": entry.label} for entry in validate_allowlist(value, windows=False)]


CLEANERS: dict[str, Callable[[Any], Any]] = {
    "require_allowlist": _boolean,
    "default_allowlist": _allowlist,
    "max_key_lifetime_days": _days_in(LIFETIME_DAYS, INVALID_LIFETIME),
    "inactive_key_days": _days_in(INACTIVE_DAYS, INVALID_INACTIVE_DAYS),
    "leak_response": _leak_response,
    "default_rate_limit": clean_rate_limit,
}
POLICY_FIELDS = tuple(CLEANERS)


def clean_policy_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check every field of ``changes`` and return them cleaned; else one ``ValidationError`` with all
    the errors, by dotted path (``default_allowlist.2.cidr``), so that nothing is applied."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        clean = CLEANERS.get(name)
        if clean is None:
            errors[name] = [_error(UNKNOWN_FIELD)]
            continue
        try:
            cleaned[name] = clean(value)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for path, found in exc.error_dict.items():
                    errors[f"{name}.{path}"] = found
            else:
                errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return cleaned


def snapshot(policy: WorkspacePolicy) -> dict[str, Any]:
    """The policy's values, as the API shows them and the audit trail records them."""
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


def default_entries(policy: WorkspacePolicy) -> list[EntryInput]:
    """The default allowlist as entries ready to store on a new key."""
    return [EntryInput(item["cidr"], item.get("label", "")) for item in policy.default_allowlist or []]


def latest_expiry(policy: WorkspacePolicy, now: datetime | None = None) -> datetime | None:
    """The latest ``expires_at`` a key may have now; ``None`` when the workspace sets no limit."""
    days = policy.max_key_lifetime_days
    return None if days is None else (now or timezone.now()) + timedelta(days=days)


def allowlist_errors(policy: WorkspacePolicy, entry_count: int, field: str) -> dict[str, list[ValidationError]]:
    """``ALLOWLIST_REQUIRED`` under ``field`` when the policy requires entries and there are none."""
    if policy.require_allowlist and entry_count == 0:
        return {field: [_error(ALLOWLIST_REQUIRED)]}
    return {}


def expiry_errors(
    policy: WorkspacePolicy, expires_at: datetime | None, field: str = "expires_at"
) -> dict[str, list[ValidationError]]:
    """``EXPIRY_TOO_LATE`` under ``field`` when a key must expire sooner than ``expires_at`` (or at all)."""
    latest = latest_expiry(policy)
    if latest is not None and (expires_at is None or expires_at > latest):
        when = latest.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        return {field: [_error(EXPIRY_TOO_LATE, days=policy.max_key_lifetime_days, latest=when)]}
    return {}


def raise_if(errors: dict[str, list[ValidationError]]) -> None:
    if errors:
        raise ValidationError(errors)


def violations(policy: WorkspacePolicy, key: ApiKey, now: datetime | None = None) -> list[str]:
    """The codes of the policies an active key breaks today; existing keys keep working meanwhile.

    Reads ``key.entries.all()``, which the key selectors prefetch, so a list costs no query per key.
    """
    if key.status != "active":
        return []
    codes = []
    if policy.require_allowlist and not key.entries.all():
        codes.append(ALLOWLIST_REQUIRED)
    latest = latest_expiry(policy, now)
    if latest is not None and (key.expires_at is None or key.expires_at > latest):
        codes.append(EXPIRY_TOO_LATE)
    return codes
