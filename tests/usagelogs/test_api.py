"""The usage-log API, its CSV export and the blocked-IP source each read one workspace's rows:
the key's own, or the browser session's current one (SPEC §5, §13)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.extensions import blocked_ips
from tests.browser.helpers import seed_log
from tests.usagelogs.helpers import team_of

pytestmark = pytest.mark.django_db

LIST, EXPORT = "/api/v1/usage-logs", "/api/v1/usage-logs/export"


@pytest.fixture
def world(user: Any, other_user: Any, make_key: Any) -> dict[str, Any]:
    """A team of ``user`` and ``other_user`` with a key each, and a personal key of ``user``."""
    team = team_of(user, other_user)
    theirs, secret = make_key(other_user, name="Team CI", scopes=["logs:read"], workspace_id=team.pk)
    mine, _ = make_key(user, name="Team backup", workspace_id=team.pk)
    personal, personal_secret = make_key(user, name="Personal", scopes=["logs:read"])
    rows = {
        "theirs": seed_log(other_user, theirs, path="/api/v1/theirs"),
        "mine": seed_log(user, mine, path="/api/v1/mine", ip="198.51.100.9", status=403, decision="blocked"),
        "personal": seed_log(user, personal, path="/api/v1/personal", ip="198.51.100.9", decision="blocked"),
        "nobody": seed_log(None, None, path="/api/v1/nobody"),
    }
    return {"team": team, "secret": secret, "personal_secret": personal_secret, "rows": rows, "mine": mine}


def seeded(paths: list[str]) -> set[str]:
    """The paths of the fixture's rows, without the requests the test itself made to read them."""
    return {path for path in paths if not path.startswith(LIST)}


def listed(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return seeded([row["path"] for row in response.json()["results"]])


def exported(response: Any) -> set[str]:
    assert response.status_code == 200
    reader = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    return seeded([row["path"] for row in reader])


def test_a_key_reads_every_row_of_its_workspace_and_nothing_else(api: Any, world: dict[str, Any]) -> None:
    client = api(world["secret"])
    assert listed(client.get(LIST)) == {"/api/v1/theirs", "/api/v1/mine"}
    assert exported(client.get(EXPORT)) == {"/api/v1/theirs", "/api/v1/mine"}
    assert listed(client.get(LIST, {"api_key": str(world["mine"].pk)})) == {"/api/v1/mine"}


def test_a_personal_key_reads_its_personal_workspace(api: Any, world: dict[str, Any]) -> None:
    assert listed(api(world["personal_secret"]).get(LIST)) == {"/api/v1/personal"}


def test_a_session_reads_its_current_workspace(user: Any, world: dict[str, Any]) -> None:
    client = APIClient()
    client.force_login(user)
    assert listed(client.get(LIST)) == {"/api/v1/personal"}
    session = client.session
    session["workspace"] = world["team"].slug
    session.save()
    assert listed(client.get(LIST)) == {"/api/v1/theirs", "/api/v1/mine"}
    assert exported(client.get(EXPORT, {"blocked": "true"})) == {"/api/v1/mine"}


def test_a_key_of_another_workspace_is_no_filter_choice(api: Any, world: dict[str, Any]) -> None:
    response = api(world["personal_secret"]).get(LIST, {"api_key": str(world["mine"].pk)})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"api_key": [{"code": "INVALID_CHOICE", "message": ANY}]}


def test_recently_blocked_addresses_are_those_of_the_key_in_its_workspace(world: dict[str, Any]) -> None:
    since = timezone.now() - timedelta(days=7)
    team, key = world["team"], world["mine"]
    rows = blocked_ips(workspace_id=team.pk, key_id=key.pk, since=since)
    assert [(row["client_ip"], row["count"]) for row in rows or ()] == [("198.51.100.9", 1)]
    other = world["rows"]["personal"].workspace_id
    assert list(blocked_ips(workspace_id=other, key_id=key.pk, since=since) or ()) == []
