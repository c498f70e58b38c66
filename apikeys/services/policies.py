"""Workspace policies (SPEC §14): read them in one query, change them as a whole or not at all."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from workspaces.access import authorize
from workspaces.roles import Action

from ..models import AuditAction, AuditEvent, WorkspacePolicy
from ..policy_rules import clean_policy_changes
from ._common import Actor


def policy_for(workspace_id: Any) -> WorkspacePolicy:
    """The workspace's policies; an unsaved row with the defaults when it never changed them."""
    policy = WorkspacePolicy.objects.filter(workspace_id=workspace_id).first()
    return policy if policy is not None else WorkspacePolicy(workspace_id=workspace_id)


def _locked(workspace_id: Any) -> WorkspacePolicy:
    WorkspacePolicy.objects.get_or_create(workspace_id=workspace_id)
    return WorkspacePolicy.objects.select_for_update().get(workspace_id=workspace_id)


@transaction.atomic
def policy_update(*, workspace_id: Any, actor: Actor, **changes: Any) -> WorkspacePolicy:
    """Change the given policies; fields left out keep their values.

    Only admins (or a key with ``workspace:admin``) may. Every field is checked first: one bad
    value raises ``ValidationError`` with every error by dotted path, and nothing changes. A real
    change writes one ``policy.changed`` event with the values before and after.
    """
    authorize(actor, workspace_id, Action.MANAGE_POLICIES)
    cleaned = clean_policy_changes(changes)
    if not cleaned:
        return policy_for(workspace_id)
    policy = _locked(workspace_id)
    changed = {name: value for name, value in cleaned.items() if getattr(policy, name) != value}
    if changed:
        before = {name: getattr(policy, name) for name in changed}
        for name, value in changed.items():
            setattr(policy, name, value)
        policy.updated_at = timezone.now()
        policy.save()
        AuditEvent.objects.create(
            api_key=None,
            workspace_id=workspace_id,
            action=AuditAction.POLICY_CHANGED,
            actor_user_id=actor.user_id,
            actor_key_id=actor.key_id,
            client_ip=actor.ip,
            before=before,
            after=changed,
        )
    return policy
