"""Writes to allowlists: replace the whole list, or add, edit and remove one entry.

An entry's window (``not_before``, ``expires_at``, SPEC §15) is part of it: it is stored, recorded
in the audit event, and changes the key's version like any other change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ..conf import conf
from ..models import AllowlistEntry, ApiKey, AuditAction
from ..networks import DUPLICATE_ENTRY, MESSAGES, TOO_MANY_ENTRIES, EntryInput, normalize_cidr, validate_label
from ..policy_rules import allowlist_errors, raise_if
from ..windows import validate_window
from ._common import UNSET, Actor, audit, entries_snapshot, entry_snapshot, lock_for_change, touch, validate_mode
from .policies import policy_for


@transaction.atomic
def allowlist_replace(*, key: ApiKey, actor: Actor, entries: Sequence[EntryInput], mode: str | None = None) -> ApiKey:
    """Replace the whole allowlist, and optionally the mode: all of it is applied or none.

    ``entries`` comes from :func:`networks.validate_allowlist`. An empty list is refused with
    ``ALLOWLIST_REQUIRED`` where the workspace requires allowlists (SPEC §14).
    """
    validated = list(entries)
    if mode is not None:
        mode = validate_mode(mode)
    key = lock_for_change(key, actor)
    raise_if(allowlist_errors(policy_for(key.workspace_id), len(validated), "entries"))
    before = {"allowlist_mode": key.allowlist_mode, "allowlist": entries_snapshot(key)}
    kept = {e.cidr: e for e in key.entries.all()}
    wanted = {e.cidr for e in validated}
    AllowlistEntry.objects.filter(api_key=key).exclude(cidr__in=wanted).delete()
    for item in validated:
        existing = kept.get(item.cidr)
        fields = {"label": item.label, "not_before": item.not_before, "expires_at": item.expires_at}
        if existing is None:
            AllowlistEntry.objects.create(api_key=key, cidr=item.cidr, **fields)
        elif any(getattr(existing, name) != value for name, value in fields.items()):
            AllowlistEntry.objects.filter(pk=existing.pk).update(**fields)
    if mode is not None and mode != key.allowlist_mode:
        key.allowlist_mode = mode
        key.save(update_fields=["allowlist_mode"])
    after = {"allowlist_mode": key.allowlist_mode, "allowlist": entries_snapshot(key)}
    if before != after:
        audit(key, actor, AuditAction.ALLOWLIST_REPLACED, before, after)
        touch(key)
    return key


def _too_many() -> ValidationError:
    return ValidationError(
        {
            "cidr": ValidationError(
                MESSAGES[TOO_MANY_ENTRIES].format(maximum=conf.MAX_ALLOWLIST_ENTRIES), code=TOO_MANY_ENTRIES
            )
        }
    )


def _duplicate(cidr: str) -> ValidationError:
    return ValidationError({"cidr": ValidationError(MESSAGES[DUPLICATE_ENTRY].format(cidr=cidr), code=DUPLICATE_ENTRY)})


def _field_errors(field: str, exc: ValidationError) -> ValidationError:
    return ValidationError({field: exc.error_list})


@transaction.atomic
def allowlist_add(
    *, key: ApiKey, actor: Actor, cidr: Any, label: Any = "", not_before: Any = None, expires_at: Any = None
) -> AllowlistEntry:
    """Add one entry, optionally with a window. The limit holds under concurrent adds: the key's row is locked first."""
    try:
        cidr = normalize_cidr(cidr)
    except ValidationError as exc:
        raise _field_errors("cidr", exc) from None
    try:
        label = validate_label(label)
    except ValidationError as exc:
        raise _field_errors("label", exc) from None
    window = validate_window(not_before, expires_at)
    key = lock_for_change(key, actor)
    if key.entries.filter(cidr=cidr).exists():
        raise _duplicate(cidr)
    if key.entries.count() >= conf.MAX_ALLOWLIST_ENTRIES:
        raise _too_many()
    entry = AllowlistEntry.objects.create(api_key=key, cidr=cidr, label=label, **window)
    audit(key, actor, AuditAction.ENTRY_ADDED, after=entry_snapshot(cidr, label, **window))
    touch(key)
    return entry


@transaction.atomic
def allowlist_update(
    *,
    key: ApiKey,
    entry: AllowlistEntry,
    actor: Actor,
    cidr: Any = UNSET,
    label: Any = UNSET,
    not_before: Any = UNSET,
    expires_at: Any = UNSET,
) -> AllowlistEntry:
    """Edit an entry's cidr, label and window; what is not passed stays. All are checked as input.

    ``None`` for ``not_before`` or ``expires_at`` removes that bound.
    """
    errors: dict[str, list[ValidationError]] = {}
    new_cidr = new_label = None
    if cidr is not UNSET:
        try:
            new_cidr = normalize_cidr(cidr)
        except ValidationError as exc:
            errors["cidr"] = exc.error_list
    if label is not UNSET:
        try:
            new_label = validate_label(label)
        except ValidationError as exc:
            errors["label"] = exc.error_list
    window: dict[str, Any] = {}
    try:
        window = validate_window(
            entry.not_before if not_before is UNSET else not_before,
            entry.expires_at if expires_at is UNSET else expires_at,
        )
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    key = lock_for_change(key, actor)
    entry = AllowlistEntry.objects.get(pk=entry.pk, api_key=key)
    before = entry_snapshot(entry.cidr, entry.label, entry.not_before, entry.expires_at)
    if new_cidr is not None and new_cidr != entry.cidr and key.entries.filter(cidr=new_cidr).exists():
        raise _duplicate(new_cidr)
    entry.cidr = entry.cidr if new_cidr is None else new_cidr
    entry.label = entry.label if new_label is None else new_label
    entry.not_before, entry.expires_at = window["not_before"], window["expires_at"]
    entry.save(update_fields=["cidr", "label", "not_before", "expires_at"])
    after = entry_snapshot(entry.cidr, entry.label, entry.not_before, entry.expires_at)
    if before != after:
        audit(key, actor, AuditAction.ENTRY_UPDATED, before, after)
        touch(key)
    return entry


@transaction.atomic
def allowlist_remove(*, key: ApiKey, entry: AllowlistEntry, actor: Actor) -> None:
    """Remove an entry; not the last one where the workspace requires allowlists (``ALLOWLIST_REQUIRED``)."""
    key = lock_for_change(key, actor)
    policy = policy_for(key.workspace_id)
    if policy.require_allowlist:
        raise_if(allowlist_errors(policy, key.entries.exclude(pk=entry.pk).count(), "non_field_errors"))
    deleted, _ = AllowlistEntry.objects.filter(pk=entry.pk, api_key=key).delete()
    if deleted:
        audit(
            key,
            actor,
            AuditAction.ENTRY_REMOVED,
            before=entry_snapshot(entry.cidr, entry.label, entry.not_before, entry.expires_at),
        )
        touch(key)
