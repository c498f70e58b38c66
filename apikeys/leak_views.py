"""Undo containment: the one click that gives a restricted leaked key its list and mode back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from workspaces.current import current_membership

from . import selectors
from .request import AuthenticatedHttpRequest, actor_of
from .services.leaks import active_containment, containment_undo


@login_required
@require_POST
def containment_undo_view(request: AuthenticatedHttpRequest, key_id: Any) -> HttpResponse:
    """Restore the allowlist and mode the key had before its leak report."""
    key = selectors.key_get_for(workspace_id=current_membership(request).workspace_id, key_id=key_id)
    containment = active_containment(key)
    if containment is None:
        messages.info(request, f"{key.name} has no containment to undo.")
        return redirect("key-allowlist", key_id=key.pk)
    try:
        containment_undo(containment=containment, actor=actor_of(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The containment of {key.name} was undone: its earlier allowlist and mode are back.")
    return redirect("key-allowlist", key_id=key.pk)
