"""Writes to allowlists: replace the whole list, or add, edit and remove one entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ..conf import conf
from ..models import AllowlistEntry, ApiKey, AuditAction
from ..networks import DUPLICATE_ENTRY, MESSAGES, TOO_MANY_ENTRIES, EntryInput, normalize_cidr, validate_label
from ..policy_rules import allowlist_errors, raise_if
from ._common import UNSET, Actor, audit, entries_snapshot, lock_for_change, touch, validate_mode
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
        if existing is None:
            AllowlistEntry.objects.create(api_key=key, cidr=item.cidr, label=item.label)
        elif existing.label != item.label:
            AllowlistEntry.objects.filter(pk=existing.pk).update(label=item.label)
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
def allowlist_add(*, key: ApiKey, actor: Actor, cidr: Any, label: Any = "") -> AllowlistEntry:
    """Add one entry. The limit holds under concurrent adds: the key's row is locked first."""
    try:
        cidr = normalize_cidr(cidr)
    except ValidationError as exc:
        raise _field_errors("cidr", exc) from None
    try:
        label = validate_label(label)
    except ValidationError as exc:
        raise _field_errors("label", exc) from None
    key = lock_for_change(key, actor)
    if key.entries.filter(cidr=cidr).exists():
        raise _duplicate(cidr)
    if key.entries.count() >= conf.MAX_ALLOWLIST_ENTRIES:
        raise _too_many()
    entry = AllowlistEntry.objects.create(api_key=key, cidr=cidr, label=label)
    audit(key, actor, AuditAction.ENTRY_ADDED, after={"cidr": cidr, "label": label})
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
) -> AllowlistEntry:
    """Edit an entry's cidr and/or label; what is not passed stays. Both are checked as input."""
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
    if errors:
        raise ValidationError(errors)
    key = lock_for_change(key, actor)
    entry = AllowlistEntry.objects.get(pk=entry.pk, api_key=key)
    before = {"cidr": entry.cidr, "label": entry.label}
    if new_cidr is not None and new_cidr != entry.cidr and key.entries.filter(cidr=new_cidr).exists():
        raise _duplicate(new_cidr)
    entry.cidr = entry.cidr if new_cidr is None else new_cidr
    entry.label = entry.label if new_label is None else new_label
    entry.save(update_fields=["cidr", "label"])
    after = {"cidr": entry.cidr, "label": entry.label}
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
        audit(key, actor, AuditAction.ENTRY_REMOVED, before={"cidr": entry.cidr, "label": entry.label})
        touch(key)
