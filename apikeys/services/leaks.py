"""Leaked keys (SPEC §17): recognise a reported token, and contain the key by its workspace's policy.

Recognising a token does the same work whatever it is (parse, hash, one indexed read, a
constant-time compare), so that the answer's timing does not tell a live key from a guess.
Containment follows the workspace's ``leak_response``:

- ``notify``: the ``key.leaked`` event only;
- ``restrict``: the key is pinned, in enforce mode, to the addresses it was used from
  successfully in the last 7 days (each a /32 or /128; beyond 20, the narrowest ranges that fit,
  from :func:`aggregation.aggregate_addresses`); with no such use, or use too spread out to fit, it
  is revoked. **Undo containment** restores the list and mode it had;
- ``revoke``: the key is revoked at once.

Every containment is a ``key.leaked`` audit event whose actor is ``secret scanning``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from workspaces.access import Actor

from .. import extensions
from ..aggregation import TooSpread, aggregate_addresses
from ..conf import conf
from ..models import AllowlistMode, ApiKey, AuditAction, Containment, ContainmentOutcome, LeakResponse
from ..networks import validate_allowlist
from ..secrets import digest_matches, hash_key, parse_key
from ._common import audit, entries_snapshot, lock
from .allowlists import allowlist_replace
from .keys import key_revoke
from .policies import policy_for

SECRET_SCANNING = Actor(system=True, name="secret scanning")
LEAKED = "leaked"
RECENT_USE = timedelta(days=7)
NOTHING_TO_UNDO = "NOTHING_TO_UNDO"


def key_for_token(token: Any) -> ApiKey | None:
    """The key ``token`` is, if it verifies (checksum and hash, current or rolled-over secret)."""
    text = token if isinstance(token, str) else ""
    parsed = parse_key(text)
    digest = hash_key(text)
    # One read whatever the token is: an unknown prefix costs what a known one does.
    key = ApiKey.objects.filter(prefix=parsed.prefix if parsed is not None else "").first()
    if key is None:
        digest_matches(digest, "0" * 64)
        return None
    current = digest_matches(digest, key.secret_hash)
    previous = bool(key.previous_secret_hash) and digest_matches(digest, key.previous_secret_hash)
    return key if parsed is not None and (current or previous) else None


@dataclass(frozen=True, slots=True)
class LeakOutcome:
    key: ApiKey
    outcome: str
    containment: Containment | None


def _pinned_entries(key: ApiKey) -> list[dict[str, str]] | None:
    """The entries pinning ``key`` to its recent successful addresses; ``None`` when it had none."""
    since = timezone.now() - RECENT_USE
    addresses = extensions.used_from(workspace_id=key.workspace_id, key_id=key.pk, since=since)
    if not addresses:
        return None
    try:
        # As tight as the list allows: each address alone, wider ranges only beyond the limit.
        pinned = aggregate_addresses(addresses, limit=conf.MAX_ALLOWLIST_ENTRIES, soft_max_v4=32, soft_max_v6=128)
    except TooSpread:
        return None  # too spread out to pin within the minimum prefixes: the key is revoked
    return [{"cidr": entry.cidr, "label": "used before the leak report"} for entry in pinned]


@transaction.atomic
def contain_leaked_key(*, key_id: Any, source: str = "") -> LeakOutcome | None:
    """Contain a key reported leaked, as its workspace's ``leak_response`` says.

    A key already revoked needs nothing more and returns ``None``.
    """
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        return None
    key = lock(key)
    if key.revoked_at is not None:
        return None
    source = str(source)[:500]
    previous_mode, previous_entries = key.allowlist_mode, entries_snapshot(key)
    response = policy_for(key.workspace_id).leak_response
    outcome = ContainmentOutcome.NOTIFIED
    if response == LeakResponse.RESTRICT:
        pinned = _pinned_entries(key)
        if pinned is not None:
            allowlist_replace(
                key=key, actor=SECRET_SCANNING, entries=validate_allowlist(pinned), mode=AllowlistMode.ENFORCE
            )
            outcome = ContainmentOutcome.RESTRICTED
        else:
            outcome = ContainmentOutcome.REVOKED
    elif response == LeakResponse.REVOKE:
        outcome = ContainmentOutcome.REVOKED
    if outcome == ContainmentOutcome.REVOKED:
        key_revoke(key=key, actor=SECRET_SCANNING, reason=LEAKED)
    containment = Containment.objects.create(
        api_key=key,
        outcome=outcome,
        source=source,
        previous_mode=previous_mode,
        previous_entries=previous_entries,
    )
    audit(
        key,
        SECRET_SCANNING,
        AuditAction.KEY_LEAKED,
        before={"allowlist_mode": previous_mode, "allowlist": previous_entries},
        after={"outcome": outcome, "leak_response": response, "source": source},
    )
    key.refresh_from_db()
    return LeakOutcome(key=key, outcome=outcome, containment=containment)


def active_containment(key: ApiKey) -> Containment | None:
    """The key's latest containment, unless it was undone."""
    latest = key.containments.order_by("-created_at").first()
    return latest if latest is not None and latest.undone_at is None else None


@transaction.atomic
def containment_undo(*, containment: Containment, actor: Actor) -> ApiKey:
    """Restore the list and mode a restricted key had before its leak report.

    Only a restriction can be undone: a revoked key stays revoked, and a notification changed
    nothing. The actor must be allowed to change the key (SPEC §13).
    """
    containment = Containment.objects.select_for_update().get(pk=containment.pk)
    if containment.outcome != ContainmentOutcome.RESTRICTED or containment.undone_at is not None:
        raise ValidationError(
            {"containment": ValidationError("There is no restriction to undo.", code=NOTHING_TO_UNDO)}
        )
    key = containment.api_key
    allowlist_replace(
        key=key,
        actor=actor,
        entries=validate_allowlist(containment.previous_entries),
        mode=containment.previous_mode,
    )
    containment.undone_at = timezone.now()
    containment.save(update_fields=["undone_at"])
    audit(
        key,
        actor,
        AuditAction.CONTAINMENT_UNDONE,
        after={"allowlist_mode": containment.previous_mode, "allowlist": containment.previous_entries},
    )
    key.refresh_from_db()
    return key


def report_tokens(reports: list[tuple[str, str]]) -> list[bool]:
    """Check each reported ``(token, where it was found)``; contain the keys that are live.

    Returns, per report, whether it was a live Keyfence key (``true_positive``). Each token costs
    the same to check, and the containments run afterwards on the task queue, so that the answer
    takes as long whatever the tokens were.
    """
    keys = [key_for_token(token) for token, _ in reports]
    for key, (_, source) in zip(keys, reports, strict=True):
        if key is not None:
            extensions.defer(contain_leaked_key, key_id=str(key.pk), source=source)
    return [key is not None for key in keys]
