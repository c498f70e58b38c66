"""The one rule of who may do what in a workspace (SPEC §13); pages, API, admin and CLI ask it.

Each role includes the one before it: viewer < developer < admin < owner.
"""

from __future__ import annotations

import enum

from .models import Role

INSUFFICIENT_ROLE = "INSUFFICIENT_ROLE"
RANK = {Role.VIEWER: 1, Role.DEVELOPER: 2, Role.ADMIN: 3, Role.OWNER: 4}


class Action(enum.Enum):
    """What a member may ask to do."""

    VIEW = "view"  # keys (never a secret), allowlists, logs, CSV, audit trail, members
    CREATE_KEY = "create_key"
    MANAGE_OWN_KEY = "manage_own_key"  # edit, roll, revoke a key one created, and edit its allowlist
    MANAGE_ANY_KEY = "manage_any_key"
    MANAGE_POLICIES = "manage_policies"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_MEMBERS = "manage_members"  # members below owner
    MANAGE_OWNERS = "manage_owners"


# The least role that may do each action (SPEC §13's table).
LEAST_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.CREATE_KEY: Role.DEVELOPER,
    Action.MANAGE_OWN_KEY: Role.DEVELOPER,
    Action.MANAGE_ANY_KEY: Role.ADMIN,
    Action.MANAGE_POLICIES: Role.ADMIN,
    Action.MANAGE_WEBHOOKS: Role.ADMIN,
    Action.MANAGE_MEMBERS: Role.ADMIN,
    Action.MANAGE_OWNERS: Role.OWNER,
}


def can(role: str | None, action: Action, *, created_it: bool = False) -> bool:
    """Whether a member with ``role`` (``None``: not a member) may do ``action``.

    ``created_it`` says the member created the key the action is about: a developer manages the
    keys they created, an admin every key.
    """
    rank = RANK[Role(role)] if role in Role.values else 0
    if action is Action.MANAGE_OWN_KEY and not created_it:
        action = Action.MANAGE_ANY_KEY
    return rank >= RANK[LEAST_ROLE[action]]
