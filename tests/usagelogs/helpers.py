"""Workspaces for usage-log tests: a team workspace, and requests or clients acting in one."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.utils import timezone

from usagelogs.inserts import insert_rows
from usagelogs.models import UsageLog
from workspaces.current import SESSION_KEY
from workspaces.models import Membership, Role, Workspace
from workspaces.services import personal_workspace_for, workspace_create


def personal(user: Any) -> Workspace:
    return personal_workspace_for(user_id=user.pk)


def team_of(owner: Any, *developers: Any, name: str = "Platform") -> Workspace:
    """A team workspace of ``owner``, with ``developers`` as developers."""
    team = workspace_create(owner_id=owner.pk, name=name)
    for user in developers:
        Membership.objects.create(workspace=team, user=user, role=Role.DEVELOPER)
    return team


def session_request(user: Any, path: str = "/", *, workspace: Workspace | None = None) -> HttpRequest:
    """A GET request of ``user``'s browser session, acting in ``workspace`` (default: their personal one)."""
    request = RequestFactory().get(path)
    request.user = user
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    if workspace is not None:
        request.session[SESSION_KEY] = workspace.slug
    return request


def signed_in(user: Any, *, workspace: Workspace | None = None) -> Client:
    """A browser signed in as ``user``, whose current workspace is ``workspace`` when given."""
    client = Client()
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.slug
        session.save()
    return client


def written(**fields: Any) -> UsageLog:
    """A usage-log row written as the writer writes it: with its hourly rollup, in one transaction.

    ``fields`` are the model's field names (``api_key=key`` or ``api_key_id=...``).
    """
    row = {}
    for name, value in fields.items():
        field = UsageLog._meta.get_field(name)
        if field.is_relation and not name.endswith("_id"):
            row[field.attname] = value.pk if value is not None else None
        else:
            row[field.attname] = value
    row.setdefault("timestamp", timezone.now())
    insert_rows([row])
    return UsageLog.objects.latest("id")
