"""Settings > Developer > Policies (SPEC §14): every member sees them; admins change them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from workspaces.access import authorize
from workspaces.current import current_membership
from workspaces.roles import Action, can

from . import services
from .conf import conf
from .forms import ENTRY_PREFIX, EntryFormSet, add_service_errors, rows_after_action, unbound_copy
from .models import LeakResponse, WorkspacePolicy
from .policy_forms import PolicyForm
from .request import AuthenticatedHttpRequest, actor_of, client_ip_text


def _render(
    request: AuthenticatedHttpRequest,
    policy: WorkspacePolicy,
    form: PolicyForm | None = None,
    rows: Any = None,
    list_errors: Sequence[str] = (),
) -> HttpResponse:
    rows = rows if rows is not None else EntryFormSet(initial=policy.default_allowlist, prefix=ENTRY_PREFIX)
    context = {
        "policy": policy,
        "leak_response_label": LeakResponse(policy.leak_response).label,
        "may_edit": can(current_membership(request).role, Action.MANAGE_POLICIES),
        "form": form or PolicyForm.for_policy(policy),
        "rows": rows,
        "rows_with_notes": [(row, {}) for row in rows.forms],
        "entry_prefix": ENTRY_PREFIX,
        "max_entries": conf.MAX_ALLOWLIST_ENTRIES,
        "at_limit": len(rows.forms) >= conf.MAX_ALLOWLIST_ENTRIES,
        "client_ip": client_ip_text(request),
        "list_errors": list(list_errors),
    }
    return render(request, "apikeys/policies.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def policies(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The workspace's policies: read-only for viewers and developers, a form for admins.

    Save applies every policy at once, or none of them; errors show beside their field.
    """
    workspace_id = current_membership(request).workspace_id
    policy = services.policy_for(workspace_id)
    if request.method == "GET":
        return _render(request, policy)
    authorize(actor_of(request), workspace_id, Action.MANAGE_POLICIES)
    form, rows = PolicyForm(request.POST), EntryFormSet(request.POST, prefix=ENTRY_PREFIX)
    if action := request.POST.get("row_action"):
        rows = EntryFormSet(initial=rows_after_action(rows, action), prefix=ENTRY_PREFIX)
        return _render(request, policy, unbound_copy(form), rows)
    if not (form.is_valid() and rows.is_valid()):
        return _render(request, policy, form, rows)
    try:
        services.policy_update(workspace_id=workspace_id, actor=actor_of(request), **form.changes(rows.entries))
    except ValidationError as exc:
        return _render(request, policy, form, rows, add_service_errors(form, exc, list_field="default_allowlist"))
    messages.success(request, "The policies were saved.")
    return redirect("policies")
