"""The write services, called directly: what each change stores, what it refuses, and the audit
event it writes (SPEC §1, §2, §9). Errors are asserted by their codes, never by their wording."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from apikeys import keycache, services
from apikeys.conf import BUILTIN_SCOPES, conf
from apikeys.models import AllowlistEntry, ApiKey, AuditAction, AuditEvent
from apikeys.networks import EntryInput, validate_allowlist
from apikeys.secrets import hash_key

pytestmark = pytest.mark.django_db

ALL_SCOPES = sorted(BUILTIN_SCOPES)
SECRET = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")
LATER = datetime(2099, 1, 1, tzinfo=UTC)
MakeKey = Callable[..., tuple[ApiKey, str]]


def codes(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str | None]]:
    """Field -> error codes of a raised ``ValidationError``."""
    return {field: [error.code for error in errors] for field, errors in exc.value.error_dict.items()}


def actions(key: ApiKey) -> list[str]:
    return list(AuditEvent.objects.filter(api_key=key).order_by("created_at", "id").values_list("action", flat=True))


def last_event(key: ApiKey) -> AuditEvent:
    return AuditEvent.objects.filter(api_key=key).order_by("-created_at", "-id").first()  # type: ignore[return-value]


def version(key: ApiKey) -> int:
    return ApiKey.objects.values_list("version", flat=True).get(pk=key.pk)


def fresh(key: ApiKey) -> ApiKey:
    return ApiKey.objects.get(pk=key.pk)


def entries(key: ApiKey) -> dict[str, str]:
    return dict(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", "label"))


def stored_text(key: ApiKey) -> str:
    """Every stored value of the key's row, its entries and its audit events, as one text."""
    rows = [
        *ApiKey.objects.filter(pk=key.pk).values(),
        *AllowlistEntry.objects.filter(api_key=key).values(),
        *AuditEvent.objects.filter(api_key=key).values(),
    ]
    return json.dumps(rows, default=str)


@pytest.fixture
def actor(user: Any) -> services.Actor:
    return services.Actor(user_id=user.pk, ip="203.0.113.9")


@pytest.fixture
def key(user: Any, make_key: MakeKey) -> ApiKey:
    """A key with two entries, ``203.0.113.0/24`` and ``198.51.100.7/32`` labelled ``office``."""
    created, _ = make_key(user, allow=["203.0.113.0/24", ("198.51.100.7", "office")])
    return created


@pytest.fixture
def invalidated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The prefixes passed to ``keycache.invalidate``, which still runs."""
    calls: list[str] = []
    real = keycache.invalidate

    def spy(prefix: str) -> None:
        calls.append(prefix)
        real(prefix)

    monkeypatch.setattr(keycache, "invalidate", spy)
    return calls


# --- key_create -------------------------------------------------------------------------------------------


def test_create_returns_a_well_formed_secret_and_stores_only_its_hash(user: Any, actor: services.Actor) -> None:
    key, secret = services.key_create(
        name="CI deploy",
        actor=actor,
        scopes=["keys:read"],
        allowlist=validate_allowlist([{"cidr": "203.0.113.0/24", "label": "office"}]),
    )
    assert SECRET.fullmatch(secret)
    assert secret[3:11] == key.prefix
    row = fresh(key)
    assert row.secret_hash == hash_key(secret)
    assert row.previous_secret_hash == ""
    # Neither the key nor its random part is in the row, the entries or the audit event.
    assert secret[12:] not in stored_text(key)


def test_create_writes_a_created_event_with_the_actor_and_the_values(user: Any, actor: services.Actor) -> None:
    key, _ = services.key_create(
        name="CI deploy",
        description="Deploys from CI",
        actor=actor,
        scopes=["logs:read", "keys:read", "keys:read"],
        allowlist=validate_allowlist([{"cidr": "203.0.113.5", "label": "runner"}]),
        allowlist_mode="report",
        expires_at=LATER,
    )
    event = AuditEvent.objects.get(api_key=key)
    assert event.action == AuditAction.KEY_CREATED == "key.created"
    assert (event.actor_user_id, event.actor_key_id, event.client_ip) == (user.pk, None, "203.0.113.9")
    assert event.before is None
    assert event.after == {
        "name": "CI deploy",
        "description": "Deploys from CI",
        "scopes": ["keys:read", "logs:read"],
        "allowlist_mode": "report",
        "expires_at": LATER.isoformat(),
        "revoked_at": None,
        "rate_limit": None,
        "monthly_quota": None,
        "allowlist": [{"cidr": "203.0.113.5/32", "label": "runner"}],
    }
    assert fresh(key).created_by_id == user.pk


@pytest.mark.parametrize(
    "scopes",
    [["keys:admin"], ["keys:read", "KEYS:READ"], [42], [None]],
    ids=["unknown", "wrong-case", "number", "none"],
)
def test_create_refuses_an_unknown_scope(user: Any, actor: services.Actor, scopes: list[Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        services.key_create(name="CI deploy", actor=actor, scopes=scopes)
    assert codes(exc) == {"scopes": [services.INVALID_SCOPE]}
    assert not ApiKey.objects.exists()


def test_a_key_cannot_grant_a_scope_it_does_not_hold(user: Any, make_key: MakeKey) -> None:
    acting, _ = make_key(user, scopes=["keys:read", "keys:write"])
    as_key = services.Actor(
        key_id=acting.pk, key_scopes=frozenset(acting.scopes), key_workspace_id=acting.workspace_id, key_user_id=user.pk
    )
    with pytest.raises(ValidationError) as exc:
        services.key_create(name="child", actor=as_key, scopes=["keys:read", "logs:read"])
    assert codes(exc) == {"scopes": [services.SCOPE_NOT_HELD]}
    assert ApiKey.objects.count() == 1


def test_a_key_can_grant_the_scopes_it_holds_and_is_the_recorded_actor(user: Any, make_key: MakeKey) -> None:
    acting, _ = make_key(user, scopes=["keys:read", "keys:write"])
    as_key = services.Actor(
        key_id=acting.pk, key_scopes=frozenset(acting.scopes), key_workspace_id=acting.workspace_id, key_user_id=user.pk
    )
    child, _ = services.key_create(name="child", actor=as_key, scopes=["keys:read"])
    assert fresh(child).scopes == ["keys:read"]
    assert last_event(child).actor_key_id == acting.pk


@pytest.mark.parametrize("mode", ["block", "ENFORCE", "", None, 1], ids=["unknown", "upper", "empty", "none", "int"])
def test_create_refuses_an_invalid_mode(user: Any, actor: services.Actor, mode: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.key_create(name="CI deploy", actor=actor, allowlist_mode=mode)
    assert codes(exc) == {"allowlist_mode": [services.INVALID_MODE]}
    assert not ApiKey.objects.exists()


# --- key_update -------------------------------------------------------------------------------------------

FIELDS = ("name", "description", "scopes", "expires_at", "allowlist_mode")


def fields_of(key: ApiKey) -> dict[str, Any]:
    row = fresh(key)
    return {name: getattr(row, name) for name in FIELDS}


@pytest.mark.parametrize(
    ("changes", "action"),
    [
        ({"name": "Renamed"}, AuditAction.KEY_UPDATED),
        ({"description": "Nightly jobs"}, AuditAction.KEY_UPDATED),
        ({"scopes": ["logs:read"]}, AuditAction.KEY_UPDATED),
        ({"expires_at": LATER}, AuditAction.KEY_UPDATED),
        ({"allowlist_mode": "report"}, AuditAction.MODE_CHANGED),
        ({"allowlist_mode": "report", "name": "Renamed"}, AuditAction.KEY_UPDATED),
    ],
    ids=["name", "description", "scopes", "expires_at", "mode-only", "mode-and-name"],
)
def test_update_changes_only_the_fields_passed(
    key: ApiKey, actor: services.Actor, invalidated: list[str], changes: dict[str, Any], action: str
) -> None:
    before, old_version = fields_of(key), version(key)
    services.key_update(key=key, actor=actor, **changes)
    after = fields_of(key)
    assert {name for name in FIELDS if after[name] != before[name]} == set(changes)
    assert {name: after[name] for name in changes} == changes
    event = last_event(key)
    assert event.action == action
    assert {k for k in event.after if event.after[k] != event.before[k]} == set(changes)
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]


def test_update_with_expires_at_none_clears_the_expiry(user: Any, make_key: MakeKey, actor: services.Actor) -> None:
    key, _ = make_key(user, expires_at=LATER)
    updated = services.key_update(key=key, actor=actor, expires_at=None)
    assert updated.expires_at is None
    assert fresh(key).expires_at is None
    event = last_event(key)
    assert (event.action, event.before["expires_at"], event.after["expires_at"]) == (
        AuditAction.KEY_UPDATED,
        LATER.isoformat(),
        None,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"name": "CI deploy"},
        {"scopes": list(reversed(ALL_SCOPES))},
        {"allowlist_mode": "enforce"},
        {"expires_at": None, "description": ""},
    ],
    ids=["nothing-passed", "same-name", "same-scopes-reordered", "same-mode", "same-empty-values"],
)
def test_update_that_changes_nothing_writes_no_event_and_keeps_the_version(
    key: ApiKey, actor: services.Actor, invalidated: list[str], changes: dict[str, Any]
) -> None:
    old_version = version(key)
    services.key_update(key=key, actor=actor, **changes)
    assert actions(key) == [AuditAction.KEY_CREATED]
    assert version(key) == old_version
    assert invalidated == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "Renamed", "scopes": ["keys:admin"]}, {"scopes": [services.INVALID_SCOPE]}),
        ({"name": "Renamed", "allowlist_mode": "block"}, {"allowlist_mode": [services.INVALID_MODE]}),
    ],
    ids=["unknown-scope", "invalid-mode"],
)
def test_update_refused_changes_nothing(
    key: ApiKey, actor: services.Actor, changes: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    before, old_version = fields_of(key), version(key)
    with pytest.raises(ValidationError) as exc:
        services.key_update(key=key, actor=actor, **changes)
    assert codes(exc) == expected
    assert fields_of(key) == before
    assert version(key) == old_version
    assert actions(key) == [AuditAction.KEY_CREATED]


def test_update_by_a_key_cannot_widen_scopes(user: Any, make_key: MakeKey, key: ApiKey) -> None:
    as_key = services.Actor(
        key_id=key.pk,
        key_scopes=frozenset({"keys:read", "keys:write"}),
        key_workspace_id=key.workspace_id,
        key_user_id=user.pk,
    )
    target, _ = make_key(user, name="target", scopes=["keys:read"])
    with pytest.raises(ValidationError) as exc:
        services.key_update(key=target, actor=as_key, scopes=["keys:read", "logs:read"])
    assert codes(exc) == {"scopes": [services.SCOPE_NOT_HELD]}
    assert fresh(target).scopes == ["keys:read"]


# --- key_revoke -------------------------------------------------------------------------------------------


def test_revoke_stops_the_key_once_and_a_second_revoke_only_invalidates(
    key: ApiKey, actor: services.Actor, invalidated: list[str]
) -> None:
    old_version = version(key)
    services.key_revoke(key=key, actor=actor)
    first = fresh(key)
    assert first.revoked_at is not None
    assert first.status == "revoked"
    assert actions(key) == [AuditAction.KEY_CREATED, AuditAction.KEY_REVOKED]
    assert last_event(key).after["revoked_at"] == first.revoked_at.isoformat()
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]

    services.key_revoke(key=key, actor=actor)
    assert fresh(key).revoked_at == first.revoked_at
    assert actions(key) == [AuditAction.KEY_CREATED, AuditAction.KEY_REVOKED]
    assert version(key) == old_version + 1
    # The cache token is replaced again: a restored cache may still serve the key as active.
    assert invalidated == [key.prefix, key.prefix]


# --- key_roll ---------------------------------------------------------------------------------------------


def test_roll_without_grace_stops_the_old_secret_at_once(
    user: Any, make_key: MakeKey, actor: services.Actor, invalidated: list[str]
) -> None:
    key, old = make_key(user)
    old_version = version(key)
    _, new = services.key_roll(key=key, actor=actor)
    assert SECRET.fullmatch(new)
    assert new != old
    assert new[3:11] == key.prefix
    row = fresh(key)
    assert row.secret_hash == hash_key(new)
    assert (row.previous_secret_hash, row.previous_expires_at) == ("", None)
    assert hash_key(old) not in stored_text(key).replace(row.secret_hash, "")
    event = last_event(key)
    assert (event.action, event.after) == (
        AuditAction.KEY_ROLLED,
        {"grace_seconds": 0, "previous_expires_at": None},
    )
    assert new[12:] not in stored_text(key)
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]


@pytest.mark.parametrize("grace", [1, 3600, 7 * 24 * 3600], ids=["one-second", "one-hour", "seven-days"])
def test_roll_with_grace_keeps_the_old_hash_until_it_expires(
    user: Any, make_key: MakeKey, actor: services.Actor, grace: int
) -> None:
    key, old = make_key(user)
    start = timezone.now()
    _, new = services.key_roll(key=key, actor=actor, grace_seconds=grace)
    end = timezone.now()
    row = fresh(key)
    assert row.secret_hash == hash_key(new)
    assert row.previous_secret_hash == hash_key(old)
    assert row.previous_expires_at is not None
    assert start + timedelta(seconds=grace) <= row.previous_expires_at <= end + timedelta(seconds=grace)
    assert last_event(key).after == {"grace_seconds": grace, "previous_expires_at": row.previous_expires_at.isoformat()}


def test_a_roll_without_grace_ends_the_grace_of_an_earlier_roll(
    user: Any, make_key: MakeKey, actor: services.Actor
) -> None:
    key, first = make_key(user)
    _, second = services.key_roll(key=key, actor=actor, grace_seconds=3600)
    _, third = services.key_roll(key=key, actor=actor)
    row = fresh(key)
    assert row.secret_hash == hash_key(third)
    assert (row.previous_secret_hash, row.previous_expires_at) == ("", None)
    assert hash_key(first) not in stored_text(key)
    assert hash_key(second) not in stored_text(key)


@pytest.mark.parametrize(
    "grace",
    [-1, 7 * 24 * 3600 + 1, True, False, "10", 1.5, None],
    ids=["negative", "over-seven-days", "true", "false", "text", "float", "none"],
)
def test_roll_refuses_an_invalid_grace(key: ApiKey, actor: services.Actor, grace: Any) -> None:
    before = fresh(key).secret_hash
    with pytest.raises(ValidationError) as exc:
        services.key_roll(key=key, actor=actor, grace_seconds=grace)
    assert codes(exc) == {"grace_seconds": [services.INVALID_GRACE]}
    assert fresh(key).secret_hash == before
    assert actions(key) == [AuditAction.KEY_CREATED]


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_only_an_active_key_can_be_rolled(key: ApiKey, actor: services.Actor, state: str) -> None:
    if state == "revoked":
        services.key_revoke(key=key, actor=actor)
    else:
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(days=1))
    before = fresh(key).secret_hash
    with pytest.raises(ValidationError) as exc:
        services.key_roll(key=key, actor=actor)
    assert codes(exc) == {"key": [services.KEY_NOT_ACTIVE]}
    assert fresh(key).secret_hash == before
    assert AuditAction.KEY_ROLLED not in actions(key)


# --- allowlist_replace ------------------------------------------------------------------------------------


def test_replace_sets_the_list_labels_and_mode_in_one_event(
    key: ApiKey, actor: services.Actor, invalidated: list[str]
) -> None:
    kept = AllowlistEntry.objects.get(api_key=key, cidr="198.51.100.7/32")
    old_version = version(key)
    new = validate_allowlist([{"cidr": "198.51.100.7", "label": "front door"}, {"cidr": "2001:DB8::/48"}])
    services.allowlist_replace(key=key, actor=actor, entries=new, mode="report")
    assert entries(key) == {"198.51.100.7/32": "front door", "2001:db8::/48": ""}
    assert fresh(key).allowlist_mode == "report"
    # An entry that stays keeps its identity (and so its last-matched time).
    assert AllowlistEntry.objects.filter(pk=kept.pk, cidr="198.51.100.7/32").exists()
    event = last_event(key)
    assert event.action == AuditAction.ALLOWLIST_REPLACED
    assert event.before == {
        "allowlist_mode": "enforce",
        "allowlist": [{"cidr": "203.0.113.0/24", "label": ""}, {"cidr": "198.51.100.7/32", "label": "office"}],
    }
    assert event.after["allowlist_mode"] == "report"
    assert sorted(event.after["allowlist"], key=lambda e: e["cidr"]) == [
        {"cidr": "198.51.100.7/32", "label": "front door"},
        {"cidr": "2001:db8::/48", "label": ""},
    ]
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]


@pytest.mark.parametrize(
    ("items", "mode", "expected_entries", "expected_mode"),
    [
        ([{"cidr": "203.0.113.0/24"}, {"cidr": "198.51.100.7", "label": "home"}], None, "home", "enforce"),
        ([{"cidr": "203.0.113.0/24"}, {"cidr": "198.51.100.7", "label": "office"}], "report", "office", "report"),
        ([], None, None, "enforce"),
    ],
    ids=["label-only", "mode-only", "emptied"],
)
def test_replace_writes_an_event_for_any_single_change(
    key: ApiKey,
    actor: services.Actor,
    items: list[dict[str, str]],
    mode: str | None,
    expected_entries: str | None,
    expected_mode: str,
) -> None:
    old_version = version(key)
    services.allowlist_replace(key=key, actor=actor, entries=validate_allowlist(items), mode=mode)
    wanted = {} if expected_entries is None else {"203.0.113.0/24": "", "198.51.100.7/32": expected_entries}
    assert entries(key) == wanted
    assert fresh(key).allowlist_mode == expected_mode
    assert actions(key)[-1] == AuditAction.ALLOWLIST_REPLACED
    assert version(key) == old_version + 1


@pytest.mark.parametrize("mode", [None, "enforce"], ids=["mode-not-passed", "same-mode"])
def test_replace_with_the_same_list_writes_no_event(
    key: ApiKey, actor: services.Actor, invalidated: list[str], mode: str | None
) -> None:
    old_version = version(key)
    same = validate_allowlist([{"cidr": "198.51.100.7/32", "label": "office"}, {"cidr": "203.0.113.0/24"}])
    services.allowlist_replace(key=key, actor=actor, entries=same, mode=mode)
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert actions(key) == [AuditAction.KEY_CREATED]
    assert version(key) == old_version
    assert invalidated == []


def test_replace_with_an_invalid_mode_changes_nothing(key: ApiKey, actor: services.Actor) -> None:
    with pytest.raises(ValidationError) as exc:
        services.allowlist_replace(
            key=key, actor=actor, entries=validate_allowlist([{"cidr": "192.0.2.1"}]), mode="block"
        )
    assert codes(exc) == {"allowlist_mode": [services.INVALID_MODE]}
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert actions(key) == [AuditAction.KEY_CREATED]


def test_replace_that_fails_half_way_applies_nothing(key: ApiKey, actor: services.Actor) -> None:
    # Unvalidated input with a duplicate: the old entries are deleted, then the second insert fails.
    broken = [EntryInput("192.0.2.0/24", ""), EntryInput("192.0.2.0/24", "again")]
    with pytest.raises(IntegrityError):
        services.allowlist_replace(key=key, actor=actor, entries=broken, mode="report")
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert fresh(key).allowlist_mode == "enforce"
    assert actions(key) == [AuditAction.KEY_CREATED]


# --- allowlist_add ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "label", "stored_cidr", "stored_label"),
    [
        (" 192.0.2.5 ", "  runner  ", "192.0.2.5/32", "runner"),
        ("2001:DB8::1", "", "2001:db8::1/128", ""),
        ("2001:db8:0:0::/48", None, "2001:db8::/48", ""),
        ("::ffff:192.0.2.10", "mapped", "192.0.2.10/32", "mapped"),
        ("10.0.0.0/9", "vpn", "10.0.0.0/9", "vpn"),
    ],
    ids=["trimmed-v4", "upper-v6-address", "uncompressed-v6-range", "ipv4-mapped", "range"],
)
def test_add_stores_the_normalised_entry(
    key: ApiKey,
    actor: services.Actor,
    invalidated: list[str],
    cidr: str,
    label: str | None,
    stored_cidr: str,
    stored_label: str,
) -> None:
    old_version = version(key)
    entry = services.allowlist_add(key=key, actor=actor, cidr=cidr, label=label)
    assert (entry.cidr, entry.label) == (stored_cidr, stored_label)
    assert entries(key)[stored_cidr] == stored_label
    event = last_event(key)
    assert (event.action, event.after) == (AuditAction.ENTRY_ADDED, {"cidr": stored_cidr, "label": stored_label})
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]


@pytest.mark.parametrize("cidr", ["198.51.100.7", "198.51.100.7/32", "::ffff:198.51.100.7"])
def test_add_refuses_an_entry_already_in_the_list(key: ApiKey, actor: services.Actor, cidr: str) -> None:
    with pytest.raises(ValidationError) as exc:
        services.allowlist_add(key=key, actor=actor, cidr=cidr, label="again")
    assert codes(exc) == {"cidr": ["DUPLICATE_ENTRY"]}
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert actions(key) == [AuditAction.KEY_CREATED]


def test_the_twentieth_entry_is_accepted_and_the_twenty_first_refused(
    user: Any, make_key: MakeKey, actor: services.Actor
) -> None:
    assert conf.MAX_ALLOWLIST_ENTRIES == 20
    key, _ = make_key(user, allow=[f"192.0.2.{i}" for i in range(19)])
    services.allowlist_add(key=key, actor=actor, cidr="192.0.2.19")
    with pytest.raises(ValidationError) as exc:
        services.allowlist_add(key=key, actor=actor, cidr="192.0.2.20")
    assert codes(exc) == {"cidr": ["TOO_MANY_ENTRIES"]}
    assert len(entries(key)) == 20
    assert actions(key) == [AuditAction.KEY_CREATED, AuditAction.ENTRY_ADDED]


@pytest.mark.parametrize(
    ("cidr", "label", "expected"),
    [
        ("not-an-ip", "", {"cidr": ["INVALID_IP"]}),
        (None, "", {"cidr": ["INVALID_IP"]}),
        ("", "", {"cidr": ["INVALID_IP"]}),
        ("0.0.0.0/0", "", {"cidr": ["PREFIX_TOO_BROAD"]}),
        ("192.0.2.5/24", "", {"cidr": ["HOST_BITS_SET"]}),
        ("192.0.2.5", "x" * 101, {"label": ["LABEL_TOO_LONG"]}),
        ("192.0.2.5", 5, {"label": ["INVALID_LABEL"]}),
    ],
    ids=["not-an-ip", "none", "empty", "too-broad", "host-bits", "label-too-long", "label-not-text"],
)
def test_add_refuses_bad_input(
    key: ApiKey, actor: services.Actor, cidr: Any, label: Any, expected: dict[str, list[str]]
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.allowlist_add(key=key, actor=actor, cidr=cidr, label=label)
    assert codes(exc) == expected
    assert len(entries(key)) == 2


# --- allowlist_update -------------------------------------------------------------------------------------


@pytest.fixture
def office(key: ApiKey) -> AllowlistEntry:
    return AllowlistEntry.objects.get(api_key=key, cidr="198.51.100.7/32")


@pytest.mark.parametrize(
    ("changes", "cidr", "label"),
    [
        ({"cidr": "198.51.100.8"}, "198.51.100.8/32", "office"),
        ({"label": " back door "}, "198.51.100.7/32", "back door"),
        ({"label": None}, "198.51.100.7/32", ""),
        ({"cidr": "2001:DB8::/48", "label": "v6"}, "2001:db8::/48", "v6"),
    ],
    ids=["cidr-only", "label-only", "label-cleared", "both"],
)
def test_update_entry_changes_what_is_passed_and_keeps_the_rest(
    key: ApiKey,
    office: AllowlistEntry,
    actor: services.Actor,
    invalidated: list[str],
    changes: dict[str, Any],
    cidr: str,
    label: str,
) -> None:
    old_version = version(key)
    updated = services.allowlist_update(key=key, entry=office, actor=actor, **changes)
    assert (updated.pk, updated.cidr, updated.label) == (office.pk, cidr, label)
    assert entries(key) == {"203.0.113.0/24": "", cidr: label}
    event = last_event(key)
    assert (event.action, event.before, event.after) == (
        AuditAction.ENTRY_UPDATED,
        {"cidr": "198.51.100.7/32", "label": "office"},
        {"cidr": cidr, "label": label},
    )
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]


@pytest.mark.parametrize(
    "changes",
    [{}, {"cidr": "198.51.100.7"}, {"label": "office"}, {"cidr": "::ffff:198.51.100.7", "label": " office "}],
    ids=["nothing-passed", "same-cidr-other-spelling", "same-label", "both-same"],
)
def test_update_entry_that_changes_nothing_writes_no_event(
    key: ApiKey, office: AllowlistEntry, actor: services.Actor, invalidated: list[str], changes: dict[str, Any]
) -> None:
    old_version = version(key)
    services.allowlist_update(key=key, entry=office, actor=actor, **changes)
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert actions(key) == [AuditAction.KEY_CREATED]
    assert version(key) == old_version
    assert invalidated == []


def test_update_entry_refuses_a_cidr_already_in_the_list(
    key: ApiKey, office: AllowlistEntry, actor: services.Actor
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.allowlist_update(key=key, entry=office, actor=actor, cidr="203.0.113.0/24", label="new")
    assert codes(exc) == {"cidr": ["DUPLICATE_ENTRY"]}
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert actions(key) == [AuditAction.KEY_CREATED]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"cidr": "nope"}, {"cidr": ["INVALID_IP"]}),
        ({"cidr": None}, {"cidr": ["INVALID_IP"]}),
        ({"cidr": ""}, {"cidr": ["INVALID_IP"]}),
        ({"cidr": 42}, {"cidr": ["INVALID_IP"]}),
        ({"cidr": "198.51.100.7/33"}, {"cidr": ["INVALID_IP"]}),
        ({"cidr": "nope", "label": "x" * 101}, {"cidr": ["INVALID_IP"], "label": ["LABEL_TOO_LONG"]}),
        ({"cidr": "198.51.100.9", "label": ["office"]}, {"label": ["INVALID_LABEL"]}),
    ],
    ids=["text", "none", "empty", "number", "prefix-too-long", "both-bad", "label-not-text"],
)
def test_update_entry_refuses_bad_input(
    key: ApiKey,
    office: AllowlistEntry,
    actor: services.Actor,
    changes: dict[str, Any],
    expected: dict[str, list[str]],
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.allowlist_update(key=key, entry=office, actor=actor, **changes)
    assert codes(exc) == expected
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}


def test_update_entry_of_another_key_is_refused(
    user: Any, make_key: MakeKey, key: ApiKey, office: AllowlistEntry, actor: services.Actor
) -> None:
    other, _ = make_key(user, name="other")
    with pytest.raises(AllowlistEntry.DoesNotExist):
        services.allowlist_update(key=other, entry=office, actor=actor, label="hijacked")
    assert entries(key)["198.51.100.7/32"] == "office"


# --- allowlist_remove -------------------------------------------------------------------------------------


def test_remove_deletes_the_entry_once(
    key: ApiKey, office: AllowlistEntry, actor: services.Actor, invalidated: list[str]
) -> None:
    old_version = version(key)
    services.allowlist_remove(key=key, entry=office, actor=actor)
    assert entries(key) == {"203.0.113.0/24": ""}
    event = last_event(key)
    assert (event.action, event.before, event.after) == (
        AuditAction.ENTRY_REMOVED,
        {"cidr": "198.51.100.7/32", "label": "office"},
        None,
    )
    assert version(key) == old_version + 1

    services.allowlist_remove(key=key, entry=office, actor=actor)
    assert actions(key) == [AuditAction.KEY_CREATED, AuditAction.ENTRY_REMOVED]
    assert version(key) == old_version + 1
    assert invalidated == [key.prefix]


def test_remove_through_another_key_deletes_nothing(
    user: Any, make_key: MakeKey, key: ApiKey, office: AllowlistEntry, actor: services.Actor
) -> None:
    other, _ = make_key(user, name="other")
    services.allowlist_remove(key=other, entry=office, actor=actor)
    assert entries(key) == {"203.0.113.0/24": "", "198.51.100.7/32": "office"}
    assert actions(other) == [AuditAction.KEY_CREATED]


# --- key_mark_used ----------------------------------------------------------------------------------------

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def used(key: ApiKey) -> tuple[datetime | None, str | None]:
    row = fresh(key)
    return row.last_used_at, row.last_used_ip


def matched(entry: AllowlistEntry) -> datetime | None:
    return AllowlistEntry.objects.values_list("last_matched_at", flat=True).get(pk=entry.pk)


def test_mark_used_writes_at_most_once_per_interval(key: ApiKey, office: AllowlistEntry) -> None:
    interval = timedelta(seconds=conf.LAST_USED_INTERVAL)
    old_version = version(key)
    services.key_mark_used(key_id=key.pk, ip="198.51.100.7", entry_id=office.pk, now=T0)
    assert used(key) == (T0, "198.51.100.7")
    assert matched(office) == T0

    within = T0 + interval - timedelta(seconds=1)
    services.key_mark_used(key_id=key.pk, ip="203.0.113.1", entry_id=office.pk, now=within)
    assert used(key) == (T0, "198.51.100.7")
    assert matched(office) == T0

    after = T0 + interval + timedelta(seconds=1)
    services.key_mark_used(key_id=key.pk, ip="203.0.113.1", entry_id=office.pk, now=after)
    assert used(key) == (after, "203.0.113.1")
    assert matched(office) == after
    # Bookkeeping is not a change: no event, and cached records stay valid.
    assert actions(key) == [AuditAction.KEY_CREATED]
    assert version(key) == old_version


def test_mark_used_touches_only_the_matched_entry(key: ApiKey, office: AllowlistEntry) -> None:
    other = AllowlistEntry.objects.get(api_key=key, cidr="203.0.113.0/24")
    services.key_mark_used(key_id=key.pk, ip="198.51.100.7", entry_id=office.pk, now=T0)
    assert (matched(office), matched(other)) == (T0, None)


def test_mark_used_without_an_entry_leaves_the_entries_alone(key: ApiKey, office: AllowlistEntry) -> None:
    services.key_mark_used(key_id=key.pk, ip=None, now=T0)
    assert used(key) == (T0, None)
    assert not AllowlistEntry.objects.filter(api_key=key, last_matched_at__isnull=False).exists()


def test_an_entry_kept_by_replace_keeps_its_last_matched_time(
    key: ApiKey, office: AllowlistEntry, actor: services.Actor
) -> None:
    services.key_mark_used(key_id=key.pk, ip="198.51.100.7", entry_id=office.pk, now=T0)
    services.allowlist_replace(
        key=key, actor=actor, entries=validate_allowlist([{"cidr": "198.51.100.7", "label": "renamed"}])
    )
    assert matched(office) == T0
