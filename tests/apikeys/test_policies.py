"""Workspace policies through the services (SPEC §14): reading and changing them, who may, the
codes of every bad value, and how the key and allowlist services keep to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, AuditEvent, WorkspacePolicy
from apikeys.networks import EntryInput
from apikeys.policy_rules import violations
from workspaces.access import Actor, RoleDenied
from workspaces.services import personal_workspace_for

from ..policy_helpers import Team, codes, make_team, set_policy

pytestmark = pytest.mark.django_db

MakeKey = Callable[..., tuple[ApiKey, str]]
ENTRY = [EntryInput("203.0.113.0/24", "office")]


@pytest.fixture
def team() -> Team:
    return make_team()


def as_member(team: Team, role: str) -> Actor:
    return Actor(user_id=team.members[role].pk, ip="203.0.113.9")


def create(team: Team, **values: Any) -> ApiKey:
    values.setdefault("name", "deploy")
    key, _ = services.key_create(actor=as_member(team, "admin"), workspace_id=team.workspace.pk, **values)
    return key


def refused(call: Callable[[], Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        call()
    return codes(exc.value)


# --- reading and changing -------------------------------------------------------------------------------


def test_a_workspace_that_never_changed_them_has_the_defaults_in_one_query(
    team: Team, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        policy = services.policy_for(team.workspace.pk)
    assert policy.workspace_id == team.workspace.pk and not WorkspacePolicy.objects.exists()
    assert (policy.require_allowlist, policy.default_allowlist, policy.max_key_lifetime_days) == (False, [], None)
    assert (policy.inactive_key_days, policy.leak_response, policy.default_rate_limit) == (None, "restrict", None)
    assert policy.updated_at is None


def test_an_admin_changes_policies_and_one_event_records_before_and_after(team: Team) -> None:
    policy = services.policy_update(
        workspace_id=team.workspace.pk,
        actor=as_member(team, "admin"),
        require_allowlist=True,
        default_allowlist=[{"cidr": " 203.0.113.5 ", "label": "office"}],
        max_key_lifetime_days=90,
        default_rate_limit={"requests": 100, "per": "minute"},
    )
    stored = services.policy_for(team.workspace.pk)
    assert stored.require_allowlist and stored.max_key_lifetime_days == 90 and stored.updated_at is not None
    assert stored.default_allowlist == [{"cidr": "203.0.113.5/32", "label": "office"}]
    assert stored.default_rate_limit == {"requests": 100, "per": "minute"}
    assert (stored.leak_response, stored.inactive_key_days) == ("restrict", None)
    assert policy.updated_at == stored.updated_at
    event = AuditEvent.objects.get()
    assert (event.action, event.api_key_id, event.workspace_id) == ("policy.changed", None, team.workspace.pk)
    assert (event.actor_user_id, event.client_ip) == (team.members["admin"].pk, "203.0.113.9")
    assert event.before == {
        "require_allowlist": False,
        "default_allowlist": [],
        "max_key_lifetime_days": None,
        "default_rate_limit": None,
    }
    assert event.after == {
        "require_allowlist": True,
        "default_allowlist": [{"cidr": "203.0.113.5/32", "label": "office"}],
        "max_key_lifetime_days": 90,
        "default_rate_limit": {"requests": 100, "per": "minute"},
    }


def test_saving_the_same_values_again_writes_no_event(team: Team) -> None:
    for _ in range(2):
        services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, "owner"), inactive_key_days=30)
    assert AuditEvent.objects.filter(action="policy.changed").count() == 1
    services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, "owner"), leak_response="restrict")
    assert AuditEvent.objects.filter(action="policy.changed").count() == 1


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_viewers_and_developers_may_not_change_policies(team: Team, role: str) -> None:
    with pytest.raises(RoleDenied):
        services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, role), require_allowlist=True)
    assert not WorkspacePolicy.objects.exists() and not AuditEvent.objects.exists()


def test_a_role_is_checked_before_the_values(team: Team) -> None:
    with pytest.raises(RoleDenied):
        services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, "viewer"), require_allowlist=3)


def test_a_member_of_another_workspace_may_not_change_them(team: Team, user: Any) -> None:
    with pytest.raises(RoleDenied):
        services.policy_update(workspace_id=team.workspace.pk, actor=Actor(user_id=user.pk), require_allowlist=True)


def test_a_key_acts_as_an_admin_only_with_workspace_admin(team: Team) -> None:
    admin_key = create(team, scopes=["keys:read", "workspace:admin"])
    reader = create(team, name="reader", scopes=["keys:read", "keys:write"])

    def key_actor(key: ApiKey) -> Actor:
        return Actor(
            key_id=key.pk,
            key_scopes=frozenset(key.scopes),
            key_workspace_id=key.workspace_id,
            key_user_id=key.created_by_id,
        )

    services.policy_update(workspace_id=team.workspace.pk, actor=key_actor(admin_key), require_allowlist=True)
    assert AuditEvent.objects.get(action="policy.changed").actor_key_id == admin_key.pk
    with pytest.raises(RoleDenied):
        services.policy_update(workspace_id=team.workspace.pk, actor=key_actor(reader), require_allowlist=False)


BAD_VALUES = [
    pytest.param("require_allowlist", "yes", "require_allowlist", "INVALID", id="require-text"),
    pytest.param("require_allowlist", None, "require_allowlist", "INVALID", id="require-null"),
    pytest.param("max_key_lifetime_days", 0, "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-0"),
    pytest.param("max_key_lifetime_days", 3651, "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-3651"),
    pytest.param("max_key_lifetime_days", "30", "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-text"),
    pytest.param("max_key_lifetime_days", True, "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-bool"),
    pytest.param("max_key_lifetime_days", 7.5, "max_key_lifetime_days", "INVALID_LIFETIME", id="lifetime-float"),
    pytest.param("inactive_key_days", 6, "inactive_key_days", "INVALID_INACTIVE_DAYS", id="inactive-6"),
    pytest.param("inactive_key_days", 3651, "inactive_key_days", "INVALID_INACTIVE_DAYS", id="inactive-3651"),
    pytest.param("leak_response", "ignore", "leak_response", "INVALID_LEAK_RESPONSE", id="leak-unknown"),
    pytest.param("leak_response", None, "leak_response", "INVALID_LEAK_RESPONSE", id="leak-null"),
    pytest.param("default_rate_limit", 100, "default_rate_limit", "INVALID_RATE_LIMIT", id="rate-number"),
    pytest.param(
        "default_rate_limit", {"requests": 0, "per": "minute"}, "default_rate_limit", "INVALID_RATE_LIMIT", id="rate-0"
    ),
    pytest.param(
        "default_rate_limit",
        {"requests": 1_000_001, "per": "second"},
        "default_rate_limit",
        "INVALID_RATE_LIMIT",
        id="rate-too-many",
    ),
    pytest.param(
        "default_rate_limit", {"requests": 5, "per": "week"}, "default_rate_limit", "INVALID_RATE_LIMIT", id="rate-week"
    ),
    pytest.param("default_rate_limit", {"requests": 5}, "default_rate_limit", "INVALID_RATE_LIMIT", id="rate-no-per"),
    pytest.param(
        "default_rate_limit",
        {"requests": 5, "per": "minute", "burst": 2},
        "default_rate_limit",
        "INVALID_RATE_LIMIT",
        id="rate-extra-key",
    ),
    pytest.param(
        "default_allowlist",
        [{"cidr": "203.0.113.5"}, {"cidr": "198.51.100.0/24"}, {"cidr": "010.0.0.1"}],
        "default_allowlist.2.cidr",
        "INVALID_IP",
        id="entry-invalid-ip",
    ),
    pytest.param(
        "default_allowlist", [{"cidr": "10.0.0.0/8"}], "default_allowlist.0.cidr", "PREFIX_TOO_BROAD", id="entry-broad"
    ),
    pytest.param(
        "default_allowlist", [{"cidr": "203.0.113.5/24"}], "default_allowlist.0.cidr", "HOST_BITS_SET", id="host-bits"
    ),
    pytest.param(
        "default_allowlist",
        [{"cidr": "203.0.113.5"}, {"cidr": "203.0.113.5/32"}],
        "default_allowlist.1.cidr",
        "DUPLICATE_ENTRY",
        id="entry-duplicate",
    ),
    pytest.param(
        "default_allowlist",
        [{"cidr": "203.0.113.5", "label": "x" * 101}],
        "default_allowlist.0.label",
        "LABEL_TOO_LONG",
        id="label-too-long",
    ),
    pytest.param(
        "default_allowlist",
        [{"cidr": f"203.0.113.{n}"} for n in range(21)],
        "default_allowlist",
        "TOO_MANY_ENTRIES",
        id="too-many-entries",
    ),
    pytest.param("default_allowlist", "203.0.113.5", "default_allowlist", "INVALID_ENTRIES", id="not-a-list"),
    pytest.param("default_allowlist", ["203.0.113.5"], "default_allowlist.0", "INVALID_ENTRY", id="entry-not-object"),
    pytest.param("colour", "red", "colour", "UNKNOWN_FIELD", id="unknown-field"),
]


@pytest.mark.parametrize(("field", "value", "path", "code"), BAD_VALUES)
def test_each_bad_value_has_its_code_at_its_path(team: Team, field: str, value: Any, path: str, code: str) -> None:
    found = refused(
        lambda: services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, "admin"), **{field: value})
    )
    assert found == {path: [code]}


def test_twenty_default_entries_are_allowed(team: Team) -> None:
    entries = [{"cidr": f"203.0.113.{n}"} for n in range(20)]
    services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, "admin"), default_allowlist=entries)
    assert len(services.policy_for(team.workspace.pk).default_allowlist) == 20


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_key_lifetime_days", 1),
        ("max_key_lifetime_days", 3650),
        ("inactive_key_days", 7),
        ("inactive_key_days", None),
    ],
)
def test_the_ends_of_each_range_are_allowed(team: Team, field: str, value: Any) -> None:
    policy = services.policy_update(workspace_id=team.workspace.pk, actor=as_member(team, "admin"), **{field: value})
    assert getattr(policy, field) == value


def test_one_bad_value_changes_nothing_and_every_error_is_reported(team: Team) -> None:
    set_policy(team.workspace.pk, max_key_lifetime_days=30)
    found = refused(
        lambda: services.policy_update(
            workspace_id=team.workspace.pk,
            actor=as_member(team, "admin"),
            require_allowlist=True,
            max_key_lifetime_days=365,
            inactive_key_days=2,
            default_allowlist=[{"cidr": "203.0.113.5"}, {"cidr": "nope"}],
        )
    )
    assert found == {"inactive_key_days": ["INVALID_INACTIVE_DAYS"], "default_allowlist.1.cidr": ["INVALID_IP"]}
    policy = services.policy_for(team.workspace.pk)
    assert (policy.require_allowlist, policy.max_key_lifetime_days, policy.default_allowlist) == (False, 30, [])
    assert not AuditEvent.objects.exists()


# --- require_allowlist ----------------------------------------------------------------------------------


def test_a_required_allowlist_refuses_a_new_key_without_entries(team: Team) -> None:
    set_policy(team.workspace.pk, require_allowlist=True)
    assert refused(lambda: create(team, allowlist=[])) == {"allowlist": ["ALLOWLIST_REQUIRED"]}
    assert refused(lambda: create(team)) == {"allowlist": ["ALLOWLIST_REQUIRED"]}
    assert not ApiKey.objects.exists()
    assert list(create(team, allowlist=ENTRY).entries.values_list("cidr", flat=True)) == ["203.0.113.0/24"]


def test_a_required_allowlist_refuses_replacing_it_with_nothing(team: Team) -> None:
    key = create(team, allowlist=ENTRY)
    set_policy(team.workspace.pk, require_allowlist=True)
    actor = as_member(team, "admin")
    assert refused(lambda: services.allowlist_replace(key=key, actor=actor, entries=[])) == {
        "entries": ["ALLOWLIST_REQUIRED"]
    }
    assert key.entries.count() == 1
    services.allowlist_replace(key=key, actor=actor, entries=[EntryInput("198.51.100.7/32", "")])
    assert list(key.entries.values_list("cidr", flat=True)) == ["198.51.100.7/32"]


def test_a_required_allowlist_keeps_the_last_entry(team: Team) -> None:
    key = create(team, allowlist=[*ENTRY, EntryInput("198.51.100.7/32", "")])
    set_policy(team.workspace.pk, require_allowlist=True)
    actor = as_member(team, "admin")
    first, last = key.entries.order_by("cidr")
    services.allowlist_remove(key=key, entry=first, actor=actor)
    assert refused(lambda: services.allowlist_remove(key=key, entry=last, actor=actor)) == {
        "non_field_errors": ["ALLOWLIST_REQUIRED"]
    }
    assert list(key.entries.all()) == [last]


def test_existing_unrestricted_keys_keep_working_and_are_flagged(team: Team, api: Any, make_key: MakeKey) -> None:
    key, secret = make_key(team.members["admin"], workspace_id=team.workspace.pk)
    policy = set_policy(team.workspace.pk, require_allowlist=True)
    assert api(secret, ip="192.0.2.50").get("/api/v1/whoami").status_code == 200
    assert violations(policy, key) == ["ALLOWLIST_REQUIRED"]
    # Other changes to the key are still allowed; only an empty allowlist may not be saved.
    services.key_update(key=key, actor=as_member(team, "admin"), name="renamed")
    assert ApiKey.objects.get(pk=key.pk).name == "renamed"


# --- max_key_lifetime_days ------------------------------------------------------------------------------


def test_a_longest_lifetime_requires_an_expiry_within_it(team: Team) -> None:
    set_policy(team.workspace.pk, max_key_lifetime_days=30)
    now = timezone.now()
    assert refused(lambda: create(team)) == {"expires_at": ["EXPIRY_TOO_LATE"]}
    assert refused(lambda: create(team, expires_at=now + timedelta(days=31))) == {"expires_at": ["EXPIRY_TOO_LATE"]}
    assert not ApiKey.objects.exists()
    assert create(team, expires_at=now + timedelta(days=30)).expires_at == now + timedelta(days=30)


def test_both_policies_are_reported_at_once(team: Team) -> None:
    set_policy(team.workspace.pk, require_allowlist=True, max_key_lifetime_days=30)
    assert refused(lambda: create(team, allowlist=[])) == {
        "allowlist": ["ALLOWLIST_REQUIRED"],
        "expires_at": ["EXPIRY_TOO_LATE"],
    }


def test_a_longest_lifetime_refuses_a_later_or_no_expiry_on_update(team: Team) -> None:
    soon = timezone.now() + timedelta(days=10)
    key = create(team, expires_at=soon)
    set_policy(team.workspace.pk, max_key_lifetime_days=30)
    actor = as_member(team, "admin")
    later = timezone.now() + timedelta(days=60)
    for expires_at in (None, later):
        assert refused(lambda at=expires_at: services.key_update(key=key, actor=actor, expires_at=at)) == {
            "expires_at": ["EXPIRY_TOO_LATE"]
        }
    assert ApiKey.objects.get(pk=key.pk).expires_at == soon
    sooner = timezone.now() + timedelta(days=20)
    assert services.key_update(key=key, actor=actor, expires_at=sooner).expires_at == sooner


def test_a_key_that_never_expires_may_still_be_renamed(team: Team) -> None:
    key = create(team)
    policy = set_policy(team.workspace.pk, max_key_lifetime_days=30)
    assert violations(policy, key) == ["EXPIRY_TOO_LATE"]
    services.key_update(key=key, actor=as_member(team, "admin"), name="renamed", expires_at=None)
    assert ApiKey.objects.get(pk=key.pk).name == "renamed"


# --- default_allowlist ----------------------------------------------------------------------------------


def test_a_new_key_gets_the_default_allowlist_only_when_none_is_given(team: Team) -> None:
    set_policy(team.workspace.pk, default_allowlist=[{"cidr": "203.0.113.5/32", "label": "office"}])
    defaulted = create(team)
    assert list(defaulted.entries.values_list("cidr", "label")) == [("203.0.113.5/32", "office")]
    created_event = AuditEvent.objects.get(api_key=defaulted, action="key.created")
    assert created_event.after["allowlist"] == [{"cidr": "203.0.113.5/32", "label": "office"}]
    assert not create(team, name="open", allowlist=[]).entries.exists()
    assert list(create(team, name="own", allowlist=ENTRY).entries.values_list("cidr", flat=True)) == ["203.0.113.0/24"]


def test_a_default_allowlist_satisfies_a_required_one(team: Team) -> None:
    set_policy(team.workspace.pk, require_allowlist=True, default_allowlist=[{"cidr": "203.0.113.5/32", "label": ""}])
    assert create(team).entries.count() == 1


def test_a_personal_workspace_has_policies_too(user: Any, make_key: MakeKey) -> None:
    workspace = personal_workspace_for(user_id=user.pk)
    set_policy(workspace.pk, require_allowlist=True)
    with pytest.raises(ValidationError):
        make_key(user)
    assert make_key(user, allow=["203.0.113.5"])[0].workspace_id == workspace.pk


# --- policy_violations ----------------------------------------------------------------------------------


def test_violations_name_what_an_active_key_breaks_today(team: Team) -> None:
    open_key = create(team)
    fenced = create(team, name="fenced", allowlist=ENTRY, expires_at=timezone.now() + timedelta(days=5))
    revoked = create(team, name="revoked")
    services.key_revoke(key=revoked, actor=as_member(team, "admin"))
    expired = create(team, name="expired", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    policy = WorkspacePolicy(workspace=team.workspace)
    assert [violations(policy, key) for key in ApiKey.objects.all()] == [[], [], [], []]
    policy = set_policy(team.workspace.pk, require_allowlist=True, max_key_lifetime_days=7)
    found = {key.name: violations(policy, key) for key in ApiKey.objects.all()}
    assert found == {
        "deploy": ["ALLOWLIST_REQUIRED", "EXPIRY_TOO_LATE"],
        "fenced": [],
        "revoked": [],
        "expired": [],
    }
    assert open_key.name == "deploy" and fenced.name == "fenced"
    policy.max_key_lifetime_days = 3
    assert violations(policy, fenced) == ["EXPIRY_TOO_LATE"]


# --- revoking with a reason -----------------------------------------------------------------------------


def test_a_revocation_records_its_reason(team: Team) -> None:
    key = create(team)
    services.key_revoke(key=key, actor=Actor(system=True), reason="inactive")
    event = AuditEvent.objects.get(api_key=key, action="key.revoked")
    assert event.after["reason"] == "inactive" and event.after["revoked_at"] is not None
    assert (event.actor_user_id, event.actor_key_id) == (None, None)
    plain = create(team, name="plain")
    services.key_revoke(key=plain, actor=as_member(team, "admin"))
    assert "reason" not in AuditEvent.objects.get(api_key=plain, action="key.revoked").after
