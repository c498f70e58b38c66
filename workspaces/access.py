"""Who is acting, and what their role lets them do in a workspace (SPEC §13).

Every channel (pages, API with a session or a key, admin, command line) describes its caller as
an :class:`Actor` and asks :func:`authorize` before a change. A member's role is read from their
membership when they act, so a role changed a moment ago already counts. A key acts for its
workspace within its scopes: it is an admin there if it holds a scope only admins may grant,
and a developer otherwise, managing the keys its creator made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from .models import Role
from .roles import INSUFFICIENT_ROLE, Action, can
from .selectors import role_of

# Scopes that only an admin may put on a key; holding one makes a key act as an admin.
ADMIN_SCOPES = frozenset({"members:write", "workspace:admin"})


class RoleDenied(PermissionDenied):
    """The actor's role does not allow the action: 403 ``INSUFFICIENT_ROLE`` in every channel."""

    code = INSUFFICIENT_ROLE

    def __init__(self, message: str = "Your role in this workspace does not allow this.") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in user, a key acting in its workspace, or a scheduled job.

    For a key, ``user_id`` is empty and ``key_user_id`` names the member who created it.
    """

    user_id: Any = None
    key_id: Any = None
    key_scopes: frozenset[str] | None = None
    key_workspace_id: Any = None
    key_user_id: Any = None
    ip: str | None = None
    # Acts as an owner of every workspace: a job the workspace's own policies run (inactive-key
    # revocation, leak containment), or the operator (a superuser) in the Django admin.
    system: bool = False
    # What a system actor is, for the audit trail: "secret scanning", "inactive keys".
    name: str = ""

    @property
    def is_key(self) -> bool:
        return self.key_scopes is not None

    @property
    def acting_user_id(self) -> Any:
        """The member whose keys this actor may manage as their own."""
        return self.key_user_id if self.is_key else self.user_id


def role_in(actor: Actor, workspace_id: Any) -> str | None:
    """The actor's role in the workspace, or ``None`` when they have none there."""
    if actor.system:
        return Role.OWNER
    if actor.is_key:
        if str(actor.key_workspace_id) != str(workspace_id):
            return None
        return Role.ADMIN if actor.key_scopes and actor.key_scopes & ADMIN_SCOPES else Role.DEVELOPER
    if actor.user_id is None:
        return None
    return role_of(workspace_id=workspace_id, user_id=actor.user_id)


def authorize(actor: Actor, workspace_id: Any, action: Action, *, created_by_id: Any = None) -> str:
    """The actor's role, if it allows ``action`` in the workspace; else :class:`RoleDenied`.

    ``created_by_id`` names who created the key the action is about: a developer manages only
    the keys they created.
    """
    role = role_in(actor, workspace_id)
    created_it = created_by_id is not None and str(created_by_id) == str(actor.acting_user_id)
    if role is None or not can(role, action, created_it=created_it):
        if role is None:
            raise RoleDenied(DENIED[Action.VIEW])
        if action is Action.MANAGE_OWN_KEY and (role == Role.VIEWER or created_it):
            raise RoleDenied("Viewers can see keys but not change them.")
        raise RoleDenied(DENIED[action])
    return role


def grantable_scopes(role: str | None, scopes: frozenset[str]) -> bool:
    """Whether a member with ``role`` may put ``scopes`` on a key: admin-only scopes need an admin."""
    return not (scopes & ADMIN_SCOPES) or can(role, Action.MANAGE_MEMBERS)


DENIED = {
    Action.VIEW: "You are not a member of this workspace.",
    Action.CREATE_KEY: "Viewers cannot create keys; ask an admin of this workspace for the developer role.",
    Action.MANAGE_OWN_KEY: "Your role lets you change only the keys you created.",
    Action.MANAGE_ANY_KEY: "Only admins can change keys that others created.",
    Action.MANAGE_POLICIES: "Only admins can change this workspace's policies.",
    Action.MANAGE_WEBHOOKS: "Only admins can manage webhook endpoints.",
    Action.MANAGE_MEMBERS: "Only admins can manage members.",
    Action.MANAGE_OWNERS: "Only owners can add, change or remove owners.",
}
