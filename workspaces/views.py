"""The workspace switcher and New workspace (SPEC §13)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from .current import switch_to
from .forms import WorkspaceForm
from .services import workspace_create


@login_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Make ``workspace=<slug>`` the current workspace; a workspace the user is not in is a 404."""
    membership = switch_to(request, request.POST.get("workspace", ""))
    if membership is None:
        raise Http404("No such workspace.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = ""
    return redirect(target or "developer")


@login_required
@require_http_methods(["GET", "POST"])
def workspace_new(request: HttpRequest) -> HttpResponse:
    """Create a workspace with the signed-in user as its owner, and switch to it."""
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = workspace_create(
                owner_id=request.user.pk, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"] or None
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            switch_to(request, workspace.slug)
            messages.success(request, f"{workspace.name} was created, and you are its owner.")
            return redirect("developer")
    return render(request, "workspaces/workspace_new.html", {"form": form})
