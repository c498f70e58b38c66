"""Writes to keys: create, update, revoke, roll, and the last-used bookkeeping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from workspaces.access import RoleDenied, authorize, grantable_scopes, role_in
from workspaces.roles import Action
from workspaces.services import personal_workspace_for

from .. import keycache
from ..conf import conf
from ..models import AllowlistEntry, AllowlistMode, ApiKey, AuditAction
from ..networks import EntryInput
from ..policy_rules import allowlist_errors, default_entries, expiry_errors, raise_if
from ..ratelimit_rules import clean_monthly_quota, clean_rate_limit, limits_snapshot
from ..secrets import generate_key, generate_prefix, hash_key
from ._common import (
    INVALID_GRACE,
    INVALID_SCOPE,
    KEY_NOT_ACTIVE,
    SCOPE_NOT_HELD,
    UNSET,
    Actor,
    Unset,
    audit,
    entries_snapshot,
    key_snapshot,
    lock_for_change,
    touch,
    validate_mode,
)
from .policies import policy_for


def _validate_scopes(scopes: Iterable[Any], actor: Actor, role: str) -> list[str]:
    scopes = list(scopes)
    known = conf.all_scopes
    unknown = [scope for scope in scopes if not isinstance(scope, str) or scope not in known]
    if unknown:
        raise ValidationError({"scopes": ValidationError(f"Unknown scope: {unknown[0]!s:.100}.", code=INVALID_SCOPE)})
    # A key may hand out only the scopes it holds itself.
    if actor.key_scopes is not None and not set(scopes) <= actor.key_scopes:
        raise ValidationError({"scopes": ValidationError("A key can grant only scopes it holds.", code=SCOPE_NOT_HELD)})
    if not grantable_scopes(role, frozenset(scopes)):
        raise RoleDenied("Only admins can grant the members:write and workspace:admin scopes.")
    return sorted(set(scopes))


def _clean_limits(rate_limit: Any, monthly_quota: Any) -> tuple[Any, Any]:
    """The limits checked by their one rule each (SPEC §18); ``UNSET`` passes through."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: list[Any] = []
    for field, value, clean in (
        ("rate_limit", rate_limit, clean_rate_limit),
        ("monthly_quota", monthly_quota, clean_monthly_quota),
    ):
        try:
            cleaned.append(value if isinstance(value, Unset) else clean(value))
        except ValidationError as exc:
            errors[field] = exc.error_list
    raise_if(errors)
    return cleaned[0], cleaned[1]


def _snapshot(key: ApiKey) -> dict[str, Any]:
    return {**key_snapshot(key), **limits_snapshot(key.rate_limit, key.monthly_quota)}


def _store_entries(key: ApiKey, entries: Sequence[EntryInput]) -> None:
    AllowlistEntry.objects.bulk_create(
        [
            AllowlistEntry(api_key=key, cidr=e.cidr, label=e.label, not_before=e.not_before, expires_at=e.expires_at)
            for e in entries
        ]
    )


@transaction.atomic
def key_create(
    *,
    name: str,
    actor: Actor,
    description: str = "",
    scopes: Iterable[str] = (),
    allowlist: Sequence[EntryInput] | Unset = UNSET,
    allowlist_mode: str = AllowlistMode.ENFORCE,
    expires_at: datetime | None = None,
    workspace_id: Any = None,
    rate_limit: dict[str, Any] | Unset | None = UNSET,
    monthly_quota: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is never stored or shown again.

    ``allowlist`` comes from :func:`networks.validate_allowlist`; left out, the workspace's
    default allowlist is used. The key belongs to ``workspace_id``, or to the acting user's
    personal workspace when none is given, and records the acting member (a key's creator, for
    a key) as its creator. The workspace's policies apply: ``ALLOWLIST_REQUIRED`` and
    ``EXPIRY_TOO_LATE`` (SPEC §14), and ``default_rate_limit`` when ``rate_limit`` is left out.
    """
    if workspace_id is None:
        workspace_id = personal_workspace_for(user_id=actor.acting_user_id).pk
    role = authorize(actor, workspace_id, Action.CREATE_KEY)
    policy = policy_for(workspace_id)
    if isinstance(allowlist, Unset):
        allowlist = default_entries(policy)
    rate_limit, monthly_quota = _clean_limits(rate_limit, monthly_quota)
    if isinstance(rate_limit, Unset):
        rate_limit = policy.default_rate_limit
    raise_if({**allowlist_errors(policy, len(allowlist), "allowlist"), **expiry_errors(policy, expires_at)})
    prefix = generate_prefix()
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = generate_prefix()
    full = generate_key(prefix)
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        description=description,
        prefix=prefix,
        secret_hash=hash_key(full),
        scopes=_validate_scopes(scopes, actor, role),
        allowlist_mode=validate_mode(allowlist_mode),
        expires_at=expires_at,
        created_by_id=actor.acting_user_id,
        rate_limit=rate_limit,
        monthly_quota=monthly_quota,
    )
    key.full_clean(exclude=["created_by", "workspace"])
    key.save()
    _store_entries(key, allowlist)
    audit(key, actor, AuditAction.KEY_CREATED, after={**_snapshot(key), "allowlist": entries_snapshot(key)})
    return key, full


@transaction.atomic
def key_update(
    *,
    key: ApiKey,
    actor: Actor,
    name: str | Unset = UNSET,
    description: str | Unset = UNSET,
    scopes: Iterable[str] | Unset = UNSET,
    expires_at: datetime | Unset | None = UNSET,
    allowlist_mode: str | Unset = UNSET,
    rate_limit: dict[str, Any] | Unset | None = UNSET,
    monthly_quota: int | Unset | None = UNSET,
) -> ApiKey:
    """Change what is passed of name, description, scopes, expires_at, allowlist_mode and the limits.

    A new ``expires_at`` must keep to the workspace's longest key lifetime (``EXPIRY_TOO_LATE``).
    ``None`` removes a limit; a changed limit applies from the key's next request, on every server.
    """
    key = lock_for_change(key, actor)
    rate_limit, monthly_quota = _clean_limits(rate_limit, monthly_quota)
    if not isinstance(expires_at, Unset) and expires_at != key.expires_at:
        raise_if(expiry_errors(policy_for(key.workspace_id), expires_at))
    before = _snapshot(key)
    if not isinstance(name, Unset):
        key.name = name
    if not isinstance(description, Unset):
        key.description = description
    if not isinstance(scopes, Unset):
        key.scopes = _validate_scopes(scopes, actor, role_in(actor, key.workspace_id) or "")
    if not isinstance(expires_at, Unset):
        key.expires_at = expires_at
    if not isinstance(allowlist_mode, Unset):
        key.allowlist_mode = validate_mode(allowlist_mode)
    if not isinstance(rate_limit, Unset):
        key.rate_limit = rate_limit
    if not isinstance(monthly_quota, Unset):
        key.monthly_quota = monthly_quota
    key.full_clean(exclude=["created_by", "workspace"])
    key.save(
        update_fields=["name", "description", "scopes", "expires_at", "allowlist_mode", "rate_limit", "monthly_quota"]
    )
    after = _snapshot(key)
    if before != after:
        mode_only = {k for k in after if after[k] != before[k]} == {"allowlist_mode"}
        audit(key, actor, AuditAction.MODE_CHANGED if mode_only else AuditAction.KEY_UPDATED, before, after)
        touch(key)
    key.refresh_from_db()
    return key


@transaction.atomic
def key_revoke(*, key: ApiKey, actor: Actor, reason: str | None = None) -> ApiKey:
    """Revoke a key at once, on every process; revoking twice changes nothing in the database.

    ``reason`` (such as ``inactive``) is recorded in the audit event's ``after``.

    Revoking a revoked key still replaces its cache token: a shared cache restored from an older
    snapshot may be serving the key as active, and this makes every process reread the row.
    """
    key = lock_for_change(key, actor)
    if key.revoked_at is None:
        before = key_snapshot(key)
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        after = {**key_snapshot(key), **({"reason": reason} if reason else {})}
        audit(key, actor, AuditAction.KEY_REVOKED, before, after)
        touch(key)
    else:
        keycache.invalidate(key.prefix)
    return key


@transaction.atomic
def key_roll(*, key: ApiKey, actor: Actor, grace_seconds: int = 0) -> tuple[ApiKey, str]:
    """Issue a new secret; the old one keeps working for ``grace_seconds`` (0 to 7 days)."""
    if (
        isinstance(grace_seconds, bool)
        or not isinstance(grace_seconds, int)
        or not 0 <= grace_seconds <= conf.MAX_ROLL_GRACE_SECONDS
    ):
        raise ValidationError(
            {
                "grace_seconds": ValidationError(
                    f"Enter a whole number of seconds from 0 to {conf.MAX_ROLL_GRACE_SECONDS}.", code=INVALID_GRACE
                )
            }
        )
    key = lock_for_change(key, actor)
    if key.status != "active":
        raise ValidationError({"key": ValidationError("Only an active key can be rolled.", code=KEY_NOT_ACTIVE)})
    full = generate_key(key.prefix)
    now = timezone.now()
    key.previous_secret_hash = key.secret_hash if grace_seconds else ""
    key.previous_expires_at = now + timedelta(seconds=grace_seconds) if grace_seconds else None
    key.secret_hash = hash_key(full)
    key.save(update_fields=["secret_hash", "previous_secret_hash", "previous_expires_at"])
    audit(
        key,
        actor,
        AuditAction.KEY_ROLLED,
        after={
            "grace_seconds": grace_seconds,
            "previous_expires_at": key.previous_expires_at and key.previous_expires_at.isoformat(),
        },
    )
    touch(key)
    return key, full


def key_mark_used(*, key_id: Any, ip: str | None, entry_id: Any = None, now: datetime | None = None) -> None:
    """Record use: ``last_used_*`` and the matched entry's ``last_matched_at``.

    A conditional update writes at most once per interval per key, whichever process asks.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=conf.LAST_USED_INTERVAL)
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=key_id).update(
        last_used_at=now, last_used_ip=ip
    )
    if entry_id is not None:
        AllowlistEntry.objects.filter(
            Q(last_matched_at__isnull=True) | Q(last_matched_at__lt=stale), pk=entry_id
        ).update(last_matched_at=now)
