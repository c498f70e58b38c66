"""Settings > Developer > a key's Limits page: its rate limit, monthly quota and this month's usage."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import services
from .ratelimit import monthly_usage
from .ratelimit_forms import LimitsForm
from .request import AuthenticatedHttpRequest, actor_of
from .views import _changeable_key, _key, _may_change


def _render(request: AuthenticatedHttpRequest, key: Any, form: LimitsForm) -> HttpResponse:
    context = {
        "key": key,
        "limits": form,
        "usage": monthly_usage([key])[key.pk],
        "may_change": _may_change(request, key),
    }
    return render(request, "apikeys/key_limits.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def key_limits(request: AuthenticatedHttpRequest, key_id: Any) -> HttpResponse:
    """Show the key's limits; Save changes both at once (an audit event), from the next request on."""
    if request.method == "GET":
        key = _key(request, key_id)
        return _render(request, key, LimitsForm.showing(key.rate_limit, key.monthly_quota))
    key = _changeable_key(request, key_id)
    form = LimitsForm(request.POST)
    if form.is_valid():
        try:
            services.key_update(key=key, actor=actor_of(request), **form.limits())
        except ValidationError as exc:
            for message in form.take_errors(exc).messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"The limits of {key.name} were saved.")
            return redirect("key-limits", key_id=key.pk)
    return _render(request, key, form)
