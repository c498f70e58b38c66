"""The data migration moves the keys and audit events of today's schema into their owners'
personal workspaces, on SQLite and PostgreSQL alike, and it reverses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("apikeys", "0001_initial"), ("workspaces", None)]


def migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate the test database to ``targets``; return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # A target of None means "none of that app": its models are simply absent from the state.
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_schema() -> Iterator[Any]:
    """The schema before workspaces; the latest one is restored afterwards for the other tests."""
    yield migrate(BEFORE)
    migrate(latest())


def make_key(apps: Any, owner: Any, prefix: str) -> Any:
    key = apps.get_model("apikeys", "ApiKey").objects.create(
        owner=owner, name=f"key {prefix}", prefix=prefix, secret_hash="0" * 64, scopes=["keys:read"]
    )
    apps.get_model("apikeys", "AuditEvent").objects.create(api_key=key, action="key.created", actor_user=owner)
    return key


def test_keys_and_events_move_into_their_owners_personal_workspaces_and_back(old_schema: Any) -> None:
    users = old_schema.get_model("auth", "User").objects
    alice, bob, carol, long = (users.create(username=name) for name in ("alice", "Alice!", "carol", "l" * 150))
    for prefix, owner in (("aaaa0001", alice), ("aaaa0002", alice), ("bbbb0001", bob), ("llll0001", long)):
        make_key(old_schema, owner, prefix)

    new = migrate(latest())
    workspaces = new.get_model("workspaces", "Workspace").objects
    keys = new.get_model("apikeys", "ApiKey").objects
    events = new.get_model("apikeys", "AuditEvent").objects
    memberships = new.get_model("workspaces", "Membership").objects

    alices, bobs = workspaces.get(personal_for_id=alice.pk), workspaces.get(personal_for_id=bob.pk)
    assert (alices.slug, bobs.slug) == ("alice", "alice-2"), "slugs are unique"
    assert alices.name == "alice's workspace"
    assert sorted(keys.filter(workspace=alices).values_list("prefix", flat=True)) == ["aaaa0001", "aaaa0002"]
    assert list(keys.filter(workspace=bobs).values_list("prefix", flat=True)) == ["bbbb0001"]
    assert not keys.filter(workspace__isnull=True).exists() and not events.filter(workspace__isnull=True).exists()
    assert events.get(api_key__prefix="bbbb0001").workspace_id == bobs.pk
    # The owner column is gone; each key's creator is its former owner.
    assert "owner" not in {field.name for field in keys.model._meta.get_fields()}
    assert dict(keys.values_list("prefix", "created_by_id")) == {
        "aaaa0001": alice.pk,
        "aaaa0002": alice.pk,
        "bbbb0001": bob.pk,
        "llll0001": long.pk,
    }
    assert {(m.user_id, m.role) for m in memberships.all()} == {
        (alice.pk, "owner"),
        (bob.pk, "owner"),
        (long.pk, "owner"),
    }
    assert len(workspaces.get(personal_for_id=long.pk).name) == 100
    assert not workspaces.filter(personal_for_id=carol.pk).exists(), "only owners of keys are moved now"

    old = migrate(BEFORE)
    ApiKey = old.get_model("apikeys", "ApiKey")
    assert "workspace" not in {field.name for field in ApiKey._meta.get_fields()}
    assert sorted(ApiKey.objects.values_list("prefix", flat=True)) == ["aaaa0001", "aaaa0002", "bbbb0001", "llll0001"]
    assert dict(ApiKey.objects.values_list("prefix", "owner_id")) == {
        "aaaa0001": alice.pk,
        "aaaa0002": alice.pk,
        "bbbb0001": bob.pk,
        "llll0001": long.pk,
    }, "owners come back from the creators"
    assert old.get_model("apikeys", "AuditEvent").objects.count() == 4


def test_going_back_stops_with_its_reason_when_a_key_has_lost_its_creator(old_schema: Any) -> None:
    alice = old_schema.get_model("auth", "User").objects.create(username="alice")
    make_key(old_schema, alice, "aaaa0001")
    new = migrate(latest())
    new.get_model("apikeys", "ApiKey").objects.update(created_by=None)
    with pytest.raises(RuntimeError, match="have no creator"):
        migrate([("apikeys", "0004_workspace_required")])
    # The later migrations were reversed before this one stopped: go forward again, then tidy up.
    migrate(latest()).get_model("apikeys", "ApiKey").objects.all().delete()
