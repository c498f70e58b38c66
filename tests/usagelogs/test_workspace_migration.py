"""The migrations that move usage logs into workspaces, on SQLite and PostgreSQL alike: each row
lands in its key's workspace, or its owner's personal one, and going back gives owners back."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

FILL = importlib.import_module("usagelogs.migrations.0004_logs_into_workspaces")


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to ``targets``; return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def before() -> list[tuple[str, str]]:
    """Every other app as it is now, and usage logs still with owners."""
    return [node for node in latest() if node[0] != "usagelogs"] + [("usagelogs", "0002_filter_indexes")]


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "usagelogs_usagelog"))


@pytest.fixture
def owner_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Usage logs with owners (keys already in workspaces); the latest schema is restored afterwards."""
    monkeypatch.setattr(FILL, "BATCH_SIZE", 2)  # several batches out of a few rows
    yield migrate(before())
    migrate(latest())


def test_logs_move_into_their_key_s_or_their_owner_s_workspace_and_back(owner_schema: Any) -> None:
    old = owner_schema
    users = old.get_model("auth", "User").objects
    alice, bob, carol, carol2 = (users.create(username=name) for name in ("alice", "bob", "carol", "Carol!"))
    workspaces = old.get_model("workspaces", "Workspace").objects
    alices = workspaces.create(name="alice's workspace", slug="alice", personal_for=alice)
    team = workspaces.create(name="Platform", slug="platform")
    keys = old.get_model("apikeys", "ApiKey").objects
    common = {"secret_hash": "0" * 64, "scopes": ["logs:read"]}
    alices_key = keys.create(workspace=alices, created_by=alice, name="Deploy", prefix="aaaa0001", **common)
    bobs_team_key = keys.create(workspace=team, created_by=bob, name="CI", prefix="bbbb0001", **common)
    carols_gone_key = keys.create(workspace=team, created_by=carol, name="Old", prefix="cccc0001", **common)
    logs = old.get_model("usagelogs", "UsageLog").objects

    def row(path: str, owner: Any, key: Any = None) -> int:
        return int(logs.create(owner=owner, api_key=key, method="GET", path=path, status_code=200).pk)

    ids = {
        "alice's key": row("/a", alice, alices_key),
        "bob's key in the team": row("/b", bob, bobs_team_key),
        "alice without a key": row("/c", alice),
        "carol's deleted key": row("/d", carol, carols_gone_key),
        "Carol! without a key": row("/e", carol2),
        "nobody": row("/f", None),
    }
    carols_gone_key.delete()  # its rows keep their owner, and lose their key
    assert "log_owner_key_id" in index_names()

    new = migrate(latest())
    landed = dict(new.get_model("usagelogs", "UsageLog").objects.values_list("id", "workspace_id"))
    personal = {
        w.personal_for_id: w for w in new.get_model("workspaces", "Workspace").objects.exclude(personal_for=None)
    }
    assert landed == {
        ids["alice's key"]: alices.pk,
        ids["bob's key in the team"]: team.pk,
        ids["alice without a key"]: alices.pk,
        ids["carol's deleted key"]: personal[carol.pk].pk,
        ids["Carol! without a key"]: personal[carol2.pk].pk,
        ids["nobody"]: None,
    }
    assert set(personal) == {alice.pk, carol.pk, carol2.pk}, "only owners of rows without a key get one"
    assert (personal[carol.pk].slug, personal[carol2.pk].slug) == ("carol", "carol-2")
    assert personal[carol.pk].name == "carol's workspace"
    memberships = new.get_model("workspaces", "Membership").objects
    assert set(memberships.values_list("workspace_id", "user_id", "role")) == {
        (personal[carol.pk].pk, carol.pk, "owner"),
        (personal[carol2.pk].pk, carol2.pk, "owner"),
    }
    names = index_names()
    assert {"log_ws_ts_id", "log_ws_key_ts_id", "log_ws_key_status_ts_id", "log_ws_ip"} <= names
    assert not {name for name in names if name.startswith("log_owner")}

    # Recorded after the move: a session request in the team names no key, so no owner comes back.
    session_in_team = int(
        new.get_model("usagelogs", "UsageLog")
        .objects.create(workspace_id=team.pk, method="GET", path="/g", status_code=200)
        .pk
    )

    back = migrate(before())
    UsageLog = back.get_model("usagelogs", "UsageLog")
    assert "workspace" not in {field.name for field in UsageLog._meta.get_fields()}
    assert dict(UsageLog.objects.values_list("id", "owner_id")) == {
        ids["alice's key"]: alice.pk,
        ids["bob's key in the team"]: bob.pk,
        ids["alice without a key"]: alice.pk,
        ids["carol's deleted key"]: carol.pk,
        ids["Carol! without a key"]: carol2.pk,
        ids["nobody"]: None,
        session_in_team: None,
    }
    assert "log_owner_key_id" in index_names() and "log_ws_ts_id" not in index_names()


def test_a_key_whose_creator_is_gone_gives_its_rows_to_the_owner_of_its_personal_workspace(
    owner_schema: Any,
) -> None:
    old = owner_schema
    users = old.get_model("auth", "User").objects
    dave = users.create(username="dave")
    daves = old.get_model("workspaces", "Workspace").objects.create(name="dave's", slug="dave", personal_for=dave)
    key = old.get_model("apikeys", "ApiKey").objects.create(
        workspace=daves, created_by=None, name="Old", prefix="dddd0001", secret_hash="0" * 64, scopes=[]
    )
    logs = old.get_model("usagelogs", "UsageLog").objects
    logs.create(owner=dave, api_key=key, method="GET", path="/", status_code=200)

    new = migrate(latest())
    assert list(new.get_model("usagelogs", "UsageLog").objects.values_list("workspace_id", flat=True)) == [daves.pk]

    back = migrate(before())
    assert list(back.get_model("usagelogs", "UsageLog").objects.values_list("owner_id", flat=True)) == [dave.pk]


def test_an_empty_table_migrates_both_ways(owner_schema: Any) -> None:
    migrate(latest())
    back = migrate(before())
    assert not back.get_model("usagelogs", "UsageLog").objects.exists()
