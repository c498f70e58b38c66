"""Every write to keys and allowlists. Each service is transactional and writes its audit event."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import keycache
from .conf import conf
from .models import AllowlistEntry, AllowlistMode, ApiKey, AuditAction, AuditEvent
from .networks import (
    DUPLICATE_ENTRY, MESSAGES, TOO_MANY_ENTRIES, EntryInput, normalize_cidr, validate_label,
)
from .secrets import generate_key, generate_prefix, hash_key

INVALID_SCOPE = "INVALID_SCOPE"
INVALID_MODE = "INVALID_MODE"
INVALID_GRACE = "INVALID_GRACE"
SCOPE_NOT_HELD = "SCOPE_NOT_HELD"
KEY_NOT_ACTIVE = "KEY_NOT_ACTIVE"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in user, or an API key acting for its owner."""

    user_id: int | None = None
    key_id: Any = None
    key_scopes: frozenset[str] | None = None
    ip: str | None = None


def _key_snapshot(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name, "description": key.description, "scopes": list(key.scopes),
        "allowlist_mode": key.allowlist_mode,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _entries_snapshot(key: ApiKey) -> list[dict[str, str]]:
    return [{"cidr": cidr, "label": label} for cidr, label in key.entries.order_by("created_at", "id").values_list("cidr", "label")]


def _audit(key: ApiKey, actor: Actor, action: str, before: Any = None, after: Any = None) -> AuditEvent:
    return AuditEvent.objects.create(
        api_key=key, action=action, actor_user_id=actor.user_id, actor_key_id=actor.key_id,
        client_ip=actor.ip, before=before, after=after,
    )


def _touch(key: ApiKey) -> None:
    """Bump the key's version so that every process rereads it on its next request."""
    ApiKey.objects.filter(pk=key.pk).update(version=F("version") + 1)
    keycache.invalidate(key.prefix)


def _lock(key: ApiKey) -> ApiKey:
    """Lock the key's row for the rest of the transaction; edits to one key run one at a time."""
    return ApiKey.objects.select_for_update().get(pk=key.pk)


def _validate_scopes(scopes: Iterable[Any], actor: Actor) -> list[str]:
    scopes = list(scopes)
    known = conf.all_scopes
    unknown = [scope for scope in scopes if not isinstance(scope, str) or scope not in known]
    if unknown:
        raise ValidationError({"scopes": ValidationError(f"Unknown scope: {unknown[0]!s:.100}.", code=INVALID_SCOPE)})
    # A key may hand out only the scopes it holds itself.
    if actor.key_scopes is not None and not set(scopes) <= actor.key_scopes:
        raise ValidationError({"scopes": ValidationError("A key can grant only scopes it holds.", code=SCOPE_NOT_HELD)})
    return sorted(set(scopes))


def _validate_mode(mode: Any) -> str:
    if mode not in AllowlistMode.values:
        raise ValidationError({"allowlist_mode": ValidationError("Choose enforce or report.", code=INVALID_MODE)})
    return mode


def _store_entries(key: ApiKey, entries: Sequence[EntryInput]) -> None:
    AllowlistEntry.objects.bulk_create([AllowlistEntry(api_key=key, cidr=e.cidr, label=e.label) for e in entries])


@transaction.atomic
def key_create(
    *, owner_id: int, name: str, actor: Actor, description: str = "", scopes: Iterable[str] = (),
    allowlist: Sequence[EntryInput] = (), allowlist_mode: str = AllowlistMode.ENFORCE,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is never stored or shown again.

    ``allowlist`` comes from :func:`networks.validate_allowlist`.
    """
    prefix = generate_prefix()
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = generate_prefix()
    full = generate_key(prefix)
    key = ApiKey(
        owner_id=owner_id, name=name, description=description, prefix=prefix, secret_hash=hash_key(full),
        scopes=_validate_scopes(scopes, actor), allowlist_mode=_validate_mode(allowlist_mode),
        expires_at=expires_at, created_by_id=actor.user_id,
    )
    key.full_clean(exclude=["owner", "created_by"])
    key.save()
    _store_entries(key, allowlist)
    _audit(key, actor, AuditAction.KEY_CREATED, after={**_key_snapshot(key), "allowlist": _entries_snapshot(key)})
    return key, full


@transaction.atomic
def key_update(*, key: ApiKey, actor: Actor, **changes: Any) -> ApiKey:
    """Change name, description, scopes, expires_at or allowlist_mode."""
    key = _lock(key)
    before = _key_snapshot(key)
    if "scopes" in changes:
        changes["scopes"] = _validate_scopes(changes["scopes"], actor)
    if "allowlist_mode" in changes:
        changes["allowlist_mode"] = _validate_mode(changes["allowlist_mode"])
    for field in ("name", "description", "scopes", "expires_at", "allowlist_mode"):
        if field in changes:
            setattr(key, field, changes[field])
    key.full_clean(exclude=["owner", "created_by"])
    key.save(update_fields=["name", "description", "scopes", "expires_at", "allowlist_mode"])
    after = _key_snapshot(key)
    if before != after:
        mode_only = {k for k in after if after[k] != before[k]} == {"allowlist_mode"}
        _audit(key, actor, AuditAction.MODE_CHANGED if mode_only else AuditAction.KEY_UPDATED, before, after)
        _touch(key)
    key.refresh_from_db()
    return key


@transaction.atomic
def key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke a key at once, on every process; revoking twice changes nothing in the database.

    Revoking a revoked key still replaces its cache token: a shared cache restored from an older
    snapshot may be serving the key as active, and this makes every process reread the row.
    """
    key = _lock(key)
    if key.revoked_at is None:
        before = _key_snapshot(key)
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _audit(key, actor, AuditAction.KEY_REVOKED, before, _key_snapshot(key))
        _touch(key)
    else:
        keycache.invalidate(key.prefix)
    return key


@transaction.atomic
def key_roll(*, key: ApiKey, actor: Actor, grace_seconds: int = 0) -> tuple[ApiKey, str]:
    """Issue a new secret; the old one keeps working for ``grace_seconds`` (0 to 7 days)."""
    if isinstance(grace_seconds, bool) or not isinstance(grace_seconds, int) or not 0 <= grace_seconds <= conf.MAX_ROLL_GRACE_SECONDS:
        raise ValidationError({"grace_seconds": ValidationError(
            f"Enter a whole number of seconds from 0 to {conf.MAX_ROLL_GRACE_SECONDS}.", code=INVALID_GRACE)})
    key = _lock(key)
    if key.status != "active":
        raise ValidationError({"key": ValidationError("Only an active key can be rolled.", code=KEY_NOT_ACTIVE)})
    full = generate_key(key.prefix)
    now = timezone.now()
    key.previous_secret_hash = key.secret_hash if grace_seconds else ""
    key.previous_expires_at = now + timedelta(seconds=grace_seconds) if grace_seconds else None
    key.secret_hash = hash_key(full)
    key.save(update_fields=["secret_hash", "previous_secret_hash", "previous_expires_at"])
    _audit(key, actor, AuditAction.KEY_ROLLED, after={"grace_seconds": grace_seconds,
                                                      "previous_expires_at": key.previous_expires_at and key.previous_expires_at.isoformat()})
    _touch(key)
    return key, full


@transaction.atomic
def allowlist_replace(*, key: ApiKey, actor: Actor, entries: Sequence[EntryInput], mode: str | None = None) -> ApiKey:
    """Replace the whole allowlist, and optionally the mode: all of it is applied or none.

    ``entries`` comes from :func:`networks.validate_allowlist`.
    """
    validated = list(entries)
    if mode is not None:
        mode = _validate_mode(mode)
    key = _lock(key)
    before = {"allowlist_mode": key.allowlist_mode, "allowlist": _entries_snapshot(key)}
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
    after = {"allowlist_mode": key.allowlist_mode, "allowlist": _entries_snapshot(key)}
    if before != after:
        _audit(key, actor, AuditAction.ALLOWLIST_REPLACED, before, after)
        _touch(key)
    return key


def _too_many() -> ValidationError:
    return ValidationError({"cidr": ValidationError(
        MESSAGES[TOO_MANY_ENTRIES].format(maximum=conf.MAX_ALLOWLIST_ENTRIES), code=TOO_MANY_ENTRIES)})


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
    key = _lock(key)
    if key.entries.filter(cidr=cidr).exists():
        raise _duplicate(cidr)
    if key.entries.count() >= conf.MAX_ALLOWLIST_ENTRIES:
        raise _too_many()
    entry = AllowlistEntry.objects.create(api_key=key, cidr=cidr, label=label)
    _audit(key, actor, AuditAction.ENTRY_ADDED, after={"cidr": cidr, "label": label})
    _touch(key)
    return entry


@transaction.atomic
def allowlist_update(*, key: ApiKey, entry: AllowlistEntry, actor: Actor, **changes: Any) -> AllowlistEntry:
    """Edit an entry's cidr and/or label."""
    errors: dict[str, list[ValidationError]] = {}
    if "cidr" in changes:
        try:
            changes["cidr"] = normalize_cidr(changes["cidr"])
        except ValidationError as exc:
            errors["cidr"] = exc.error_list
    if "label" in changes:
        try:
            changes["label"] = validate_label(changes["label"])
        except ValidationError as exc:
            errors["label"] = exc.error_list
    if errors:
        raise ValidationError(errors)
    key = _lock(key)
    entry = AllowlistEntry.objects.get(pk=entry.pk, api_key=key)
    before = {"cidr": entry.cidr, "label": entry.label}
    if changes.get("cidr", entry.cidr) != entry.cidr and key.entries.filter(cidr=changes["cidr"]).exists():
        raise _duplicate(changes["cidr"])
    entry.cidr = changes.get("cidr", entry.cidr)
    entry.label = changes.get("label", entry.label)
    entry.save(update_fields=["cidr", "label"])
    after = {"cidr": entry.cidr, "label": entry.label}
    if before != after:
        _audit(key, actor, AuditAction.ENTRY_UPDATED, before, after)
        _touch(key)
    return entry


@transaction.atomic
def allowlist_remove(*, key: ApiKey, entry: AllowlistEntry, actor: Actor) -> None:
    """Remove an entry."""
    key = _lock(key)
    deleted, _ = AllowlistEntry.objects.filter(pk=entry.pk, api_key=key).delete()
    if deleted:
        _audit(key, actor, AuditAction.ENTRY_REMOVED, before={"cidr": entry.cidr, "label": entry.label})
        _touch(key)


def key_mark_used(*, key_id: Any, ip: str | None, entry_id: Any = None, now: datetime | None = None) -> None:
    """Record use: ``last_used_*`` and the matched entry's ``last_matched_at``.

    A conditional update writes at most once per interval per key, whichever process asks.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=conf.LAST_USED_INTERVAL)
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=key_id).update(
        last_used_at=now, last_used_ip=ip)
    if entry_id is not None:
        AllowlistEntry.objects.filter(Q(last_matched_at__isnull=True) | Q(last_matched_at__lt=stale), pk=entry_id).update(
            last_matched_at=now)
