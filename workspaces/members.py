"""Adding members, changing their roles and removing them (SPEC §13).

Admins manage the members below owner; adding an owner, making someone owner, and changing or
removing an owner take an owner. A workspace always keeps an owner: a change that could take
the last one away locks the owners' rows first, so that two demotions at once cannot both pass.
Every change is announced through :data:`events.member_changed` inside its transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from . import events
from .access import Actor, authorize
from .models import Membership, Role
from .roles import Action, can

USER_NOT_FOUND = "USER_NOT_FOUND"
ALREADY_MEMBER = "ALREADY_MEMBER"
INVALID_ROLE = "INVALID_ROLE"
LAST_OWNER = "LAST_OWNER"
PERSONAL_OWNER = "PERSONAL_OWNER"

MESSAGES = {
    USER_NOT_FOUND: "No user has this username or e-mail.",
    ALREADY_MEMBER: "{user} is already a member of this workspace.",
    INVALID_ROLE: "Choose viewer, developer, admin or owner.",
    LAST_OWNER: "A workspace must keep at least one owner: make someone else owner first.",
    PERSONAL_OWNER: "This is {user}'s personal workspace: they stay its owner.",
}
AMBIGUOUS_EMAIL = "Several users have this e-mail; give the username instead."
# The longest username or e-mail looked up; anything longer names nobody.
USER_MAX = 254


def _invalid(field: str, code: str, message: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def may_manage(role: str | None, target_role: str) -> bool:
    """Whether a member with ``role`` may give, change or take away the role ``target_role``."""
    return can(role, Action.MANAGE_OWNERS if target_role == Role.OWNER else Action.MANAGE_MEMBERS)


def assignable_roles(role: str | None) -> list[Role]:
    """The roles a member with ``role`` may give, lowest first."""
    return [choice for choice in Role if may_manage(role, choice)]


def validate_role(role: Any) -> Role:
    """``role`` as a :class:`Role`, or ``INVALID_ROLE``."""
    if not isinstance(role, str) or role not in Role.values:
        raise _invalid("role", INVALID_ROLE, MESSAGES[INVALID_ROLE])
    return Role(role)


def find_user(text: Any) -> Any:
    """The active user whose username is ``text``, or whose e-mail it is in any case."""
    model = get_user_model()
    if not isinstance(text, str) or not text.strip() or len(text) > USER_MAX:
        raise _invalid("user", USER_NOT_FOUND, MESSAGES[USER_NOT_FOUND])
    text = text.strip()
    users = model._default_manager.filter(is_active=True)
    found = users.filter(**{model.USERNAME_FIELD: text}).first()
    if found is None and "@" in text:
        matches = list(users.filter(**{f"{model.get_email_field_name()}__iexact": text})[:2])
        if len(matches) > 1:
            raise _invalid("user", USER_NOT_FOUND, AMBIGUOUS_EMAIL)
        found = matches[0] if matches else None
    if found is None:
        raise _invalid("user", USER_NOT_FOUND, MESSAGES[USER_NOT_FOUND])
    return found


def snapshot(membership: Membership) -> dict[str, str]:
    """What the audit trail records of a membership."""
    return {"user": membership.user.get_username(), "role": membership.role}


def _announce(action: str, workspace_id: Any, actor: Actor, before: Any, after: Any) -> None:
    events.member_changed.send(
        sender=Membership, action=action, workspace_id=workspace_id, actor=actor, before=before, after=after
    )


def _lock_owners(workspace_id: Any) -> list[Any]:
    """Lock the workspace's owner rows, always in the same order, and return their ids."""
    owners = Membership.objects.select_for_update().filter(workspace_id=workspace_id, role=Role.OWNER)
    return list(owners.order_by("pk").values_list("pk", flat=True))


def _lock(membership: Membership) -> Membership:
    """The membership as it is now, locked; gone already (removed a moment ago) is a 404."""
    current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if current is None:
        raise Http404("No such member.")
    return current


def _check_leaving(current: Membership, owners: list[Any], field: str) -> None:
    """Neither the last owner, nor the user whose personal workspace this is, stops being an owner."""
    if current.role == Role.OWNER and owners == [current.pk]:
        raise _invalid(field, LAST_OWNER, MESSAGES[LAST_OWNER])
    if current.workspace.personal_for_id == current.user_id:
        raise _invalid(field, PERSONAL_OWNER, MESSAGES[PERSONAL_OWNER].format(user=current.user.get_username()))


@transaction.atomic
def member_add(*, workspace_id: Any, actor: Actor, user: Any, role: Any) -> Membership:
    """Add an existing user, named by username or e-mail, with ``role``."""
    authorize(actor, workspace_id, Action.MANAGE_MEMBERS)
    new_role = validate_role(role)
    if new_role == Role.OWNER:
        authorize(actor, workspace_id, Action.MANAGE_OWNERS)
    found = find_user(user)
    already = _invalid("user", ALREADY_MEMBER, MESSAGES[ALREADY_MEMBER].format(user=found.get_username()))
    if Membership.objects.filter(workspace_id=workspace_id, user=found).exists():
        raise already
    try:
        with transaction.atomic():
            membership = Membership.objects.create(workspace_id=workspace_id, user=found, role=new_role)
    except IntegrityError:
        raise already from None  # added by someone else a moment ago
    _announce(events.MEMBER_ADDED, workspace_id, actor, None, snapshot(membership))
    return membership


@transaction.atomic
def member_change_role(*, membership: Membership, actor: Actor, role: Any) -> Membership:
    """Give a member another role; giving the one they have changes nothing and records nothing."""
    authorize(actor, membership.workspace_id, Action.MANAGE_MEMBERS)
    new_role = validate_role(role)
    owners = _lock_owners(membership.workspace_id)
    current = _lock(membership)
    if Role.OWNER in (current.role, new_role):
        authorize(actor, current.workspace_id, Action.MANAGE_OWNERS)
    if current.role == new_role:
        return current
    if current.role == Role.OWNER:
        _check_leaving(current, owners, "role")
    before = snapshot(current)
    current.role = new_role
    current.save(update_fields=["role"])
    _announce(events.MEMBER_ROLE_CHANGED, current.workspace_id, actor, before, snapshot(current))
    return current


@transaction.atomic
def member_remove(*, membership: Membership, actor: Actor) -> None:
    """Take a member out of the workspace. The keys they created keep working (SPEC §13)."""
    authorize(actor, membership.workspace_id, Action.MANAGE_MEMBERS)
    owners = _lock_owners(membership.workspace_id)
    current = _lock(membership)
    if current.role == Role.OWNER:
        authorize(actor, current.workspace_id, Action.MANAGE_OWNERS)
    _check_leaving(current, owners, "member")
    before = snapshot(current)
    current.delete()
    _announce(events.MEMBER_REMOVED, membership.workspace_id, actor, before, None)
