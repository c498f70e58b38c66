"""Key objects name their workspace and who created them (SPEC §13)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from apikeys.models import ApiKey
from apikeys.secrets import hash_key

pytestmark = pytest.mark.django_db


def test_a_key_object_names_its_workspace_and_creator(user: Any, make_key: Any, api: Any) -> None:
    key, secret = make_key(user, name="deploy")
    body = api(secret).get(f"/api/v1/keys/{key.pk}").json()
    assert (body["workspace"], body["created_by"]) == ("alice", "alice")
    listed = api(secret).get("/api/v1/keys").json()
    assert {(item["name"], item["workspace"], item["created_by"]) for item in listed} == {("deploy", "alice", "alice")}


def test_a_key_made_on_the_command_line_is_created_by_the_user_it_names(user: Any, make_key: Any, api: Any) -> None:
    _, secret = make_key(user, name="reader")
    out = StringIO()
    call_command("create_api_key", "--user", "alice", "--name", "cli", stdout=out)
    cli_key = ApiKey.objects.get(secret_hash=hash_key(out.getvalue().strip()))
    body = api(secret).get(f"/api/v1/keys/{cli_key.pk}").json()
    assert (body["workspace"], body["created_by"]) == ("alice", "alice")


def test_the_admin_key_list_shows_the_workspace(user: Any, make_key: Any) -> None:
    from django.contrib.auth import get_user_model

    make_key(user, name="deploy")
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/apikeys/apikey/").content.decode()
    assert "alice&#x27;s workspace" in page or "alice's workspace" in page
    assert client.get("/admin/workspaces/workspace/").status_code == 200
