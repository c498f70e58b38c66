"""Settings > Members (SPEC §13): thin views over workspaces.members.

Every member sees the list; the controls to add, change and remove appear only for the roles
that may use them, and the services refuse the rest (403 INSUFFICIENT_ROLE).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from workspaces import members
from workspaces.access import authorize
from workspaces.current import current_membership
from workspaces.member_selectors import member_get_for, members_of
from workspaces.models import Membership, Role
from workspaces.roles import Action, can

from . import selectors, services
from .forms import add_service_errors
from .member_forms import MemberAddForm
from .models import ApiKey
from .request import AuthenticatedHttpRequest, actor_of


def _render_list(request: AuthenticatedHttpRequest, form: MemberAddForm | None = None) -> HttpResponse:
    current = current_membership(request)
    roles = members.assignable_roles(current.role)
    rows = [(row, members.may_manage(current.role, row.role)) for row in members_of(workspace_id=current.workspace_id)]
    context = {
        "rows": rows,
        "roles": [(role.value, role.label) for role in roles],
        "may_add": can(current.role, Action.MANAGE_MEMBERS),
        "form": form or MemberAddForm(roles=roles),
    }
    return render(request, "apikeys/members.html", context)


def _member(request: AuthenticatedHttpRequest, member_id: Any) -> Membership:
    """A member of the current workspace, or 404."""
    return member_get_for(workspace_id=current_membership(request).workspace_id, member_id=member_id)


def _first_message(exc: ValidationError) -> str:
    return str(exc.messages[0]) if exc.messages else "The change was not made."


@login_required
def member_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The current workspace's members, with the controls the member's role allows."""
    return _render_list(request)


@login_required
@require_POST
def member_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Add an existing user by username or e-mail; errors show beside their field."""
    current = current_membership(request)
    authorize(actor_of(request), current.workspace_id, Action.MANAGE_MEMBERS)
    form = MemberAddForm(request.POST, roles=members.assignable_roles(current.role))
    if form.is_valid():
        try:
            added = members.member_add(workspace_id=current.workspace_id, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            name = added.user.get_username()
            messages.success(request, f"{name} was added to {current.workspace.name} as {added.role}.")
            return redirect("members")
    return _render_list(request, form)


@login_required
@require_POST
def member_role(request: AuthenticatedHttpRequest, member_id: Any) -> HttpResponse:
    """Give a member another role."""
    membership = _member(request, member_id)
    try:
        changed = members.member_change_role(
            membership=membership, actor=actor_of(request), role=request.POST.get("role", "")
        )
    except ValidationError as exc:
        messages.error(request, _first_message(exc))
    else:
        messages.success(request, f"{changed.user.get_username()} is now {changed.role}.")
    return redirect("members")


def _active_keys_by(membership: Membership) -> list[ApiKey]:
    """The member's keys in this workspace that still work: removing them does not stop these."""
    keys = selectors.key_list_for(workspace_id=membership.workspace_id).filter(
        created_by_id=membership.user_id, revoked_at__isnull=True
    )
    return [key for key in keys if key.status == "active"]


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: AuthenticatedHttpRequest, member_id: Any) -> HttpResponse:
    """Show the keys the member created, each with a one-click revoke; then remove the member."""
    membership = _member(request, member_id)
    owner = membership.role == Role.OWNER
    authorize(actor_of(request), membership.workspace_id, Action.MANAGE_OWNERS if owner else Action.MANAGE_MEMBERS)
    if request.method == "POST":
        name, workspace = membership.user.get_username(), membership.workspace
        try:
            members.member_remove(membership=membership, actor=actor_of(request))
        except ValidationError as exc:
            messages.error(request, _first_message(exc))
            return redirect("member-remove", member_id=membership.pk)
        messages.success(request, f"{name} was removed from {workspace.name}. Keys they created keep working.")
        return redirect("members" if membership.user_id != request.user.pk else "developer")
    context = {"member": membership, "keys": _active_keys_by(membership)}
    return render(request, "apikeys/member_remove.html", context)


@login_required
@require_POST
def member_key_revoke(request: AuthenticatedHttpRequest, member_id: Any, key_id: Any) -> HttpResponse:
    """Revoke one of the keys a member created, from the page that removes them."""
    membership = _member(request, member_id)
    key = selectors.key_get_for(workspace_id=membership.workspace_id, key_id=key_id)
    if key.created_by_id != membership.user_id:
        raise Http404("No such API key.")
    services.key_revoke(key=key, actor=actor_of(request))
    messages.success(request, f"{key.name} was revoked. Requests that use it now fail with API_KEY_REVOKED.")
    return redirect("member-remove", member_id=membership.pk)
