"""revoke_inactive_keys (SPEC §14): keys unused for a workspace's inactive_key_days are revoked
with reason inactive; recently used keys are kept; --dry-run changes nothing. Also the policies
create_api_key keeps to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apikeys.models import ApiKey, AuditEvent
from apikeys.secrets import hash_key

from ..policy_helpers import Team, make_team, set_policy

pytestmark = pytest.mark.django_db

MakeKey = Callable[..., tuple[ApiKey, str]]


@pytest.fixture
def team() -> Team:
    return make_team()


def run(*args: str) -> str:
    out = StringIO()
    call_command("revoke_inactive_keys", *args, stdout=out)
    return out.getvalue()


def aged(make_key: MakeKey, owner: Any, name: str, *, created_days: int, used_days: int | None, **extra: Any) -> Any:
    """A key created ``created_days`` ago, last used ``used_days`` ago (``None``: never)."""
    key, secret = make_key(owner, name=name, **extra)
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(
        created_at=now - timedelta(days=created_days),
        last_used_at=None if used_days is None else now - timedelta(days=used_days),
    )
    return ApiKey.objects.get(pk=key.pk), secret


@pytest.fixture
def keys(team: Team, user: Any, make_key: MakeKey) -> dict[str, Any]:
    """Keys of a team that revokes keys unused for 30 days, and one of alice's personal workspace, which does not."""
    set_policy(team.workspace.pk, inactive_key_days=30)
    owner, where = team.members["owner"], {"workspace_id": team.workspace.pk}
    found = {
        "used recently": aged(make_key, owner, "used recently", created_days=400, used_days=2, **where),
        "never used, new": aged(make_key, owner, "never used, new", created_days=10, used_days=None, **where),
        "never used, old": aged(make_key, owner, "never used, old", created_days=90, used_days=None, **where),
        "used long ago": aged(make_key, owner, "used long ago", created_days=400, used_days=45, **where),
        "expired": aged(
            make_key,
            owner,
            "expired",
            created_days=90,
            used_days=None,
            expires_at=timezone.now() + timedelta(days=1),
            **where,
        ),
        "elsewhere": aged(make_key, user, "elsewhere", created_days=900, used_days=None),
    }
    ApiKey.objects.filter(name="expired").update(expires_at=timezone.now() - timedelta(days=1))
    return found


def revoked_names() -> set[str]:
    return set(ApiKey.objects.filter(revoked_at__isnull=False).values_list("name", flat=True))


def test_keys_unused_for_the_workspaces_days_are_revoked(keys: dict[str, Any], api: Any) -> None:
    out = run()
    assert revoked_names() == {"never used, old", "used long ago"}
    assert "Revoked 2 inactive key(s)." in out
    assert "'never used, old' in payments: never used; created" in out
    assert "'used long ago' in payments: last used" in out
    assert "used recently" not in out and "elsewhere" not in out
    for name in ("never used, old", "used long ago"):
        event = AuditEvent.objects.get(api_key=keys[name][0], action="key.revoked")
        assert event.after["reason"] == "inactive"
        assert (event.actor_user_id, event.actor_key_id) == (None, None)
    response = api(keys["never used, old"][1]).get("/api/v1/whoami")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "API_KEY_REVOKED")
    assert api(keys["used recently"][1]).get("/api/v1/whoami").status_code == 200


def test_a_second_run_revokes_nothing_more(keys: dict[str, Any]) -> None:
    run()
    assert "Revoked 0 inactive key(s)." in run()
    assert AuditEvent.objects.filter(action="key.revoked").count() == 2


def test_dry_run_lists_the_keys_and_changes_nothing(keys: dict[str, Any]) -> None:
    out = run("--dry-run")
    assert "Would revoke 2 inactive key(s). Nothing was changed (dry run)." in out
    assert "'never used, old'" in out and "'used long ago'" in out
    assert revoked_names() == set()
    assert not AuditEvent.objects.filter(action="key.revoked").exists()


def test_without_the_policy_nothing_is_revoked(team: Team, keys: dict[str, Any]) -> None:
    set_policy(team.workspace.pk, inactive_key_days=None)
    assert "Revoked 0 inactive key(s)." in run()
    assert revoked_names() == set()


def test_a_longer_period_keeps_more_keys(team: Team, keys: dict[str, Any]) -> None:
    set_policy(team.workspace.pk, inactive_key_days=60)
    run()
    assert revoked_names() == {"never used, old"}


# --- create_api_key keeps to the policies ---------------------------------------------------------------


def create_api_key(*args: str) -> str:
    out = StringIO()
    call_command("create_api_key", "--user", "owner-member", "--workspace", "payments", *args, stdout=out)
    return out.getvalue().strip()


def test_create_api_key_refuses_a_key_without_entries_where_required(team: Team) -> None:
    set_policy(team.workspace.pk, require_allowlist=True)
    with pytest.raises(CommandError, match=r"^ALLOWLIST_REQUIRED: allowlist: "):
        create_api_key("--name", "cli")
    secret = create_api_key("--name", "cli", "--allow", "203.0.113.5=office")
    assert ApiKey.objects.get(secret_hash=hash_key(secret)).entries.get().cidr == "203.0.113.5/32"


def test_create_api_key_refuses_an_expiry_beyond_the_longest_lifetime(team: Team) -> None:
    set_policy(team.workspace.pk, max_key_lifetime_days=30)
    for extra in ((), ("--expires-in", "31")):
        with pytest.raises(CommandError, match=r"^EXPIRY_TOO_LATE: expires_at: "):
            create_api_key("--name", "cli", *extra)
    assert not ApiKey.objects.exists()
    secret = create_api_key("--name", "cli", "--expires-in", "30")
    assert ApiKey.objects.get(secret_hash=hash_key(secret)).expires_at is not None
