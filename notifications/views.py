"""Settings > Developer > Webhooks (admins) and Settings > Notifications (every member)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apikeys.request import AuthenticatedHttpRequest, actor_of
from workspaces.access import authorize
from workspaces.current import current_membership
from workspaces.roles import Action

from . import services
from .emails import NOTIFIED_ROLES
from .forms import EndpointForm, NotificationForm
from .models import DeliveryAttempt, EventType, WebhookDelivery, WebhookEndpoint
from .urlguard import UrlNotAllowed

DELIVERIES_SHOWN = 50


def _admin_workspace(request: AuthenticatedHttpRequest) -> Any:
    workspace_id = current_membership(request).workspace_id
    authorize(actor_of(request), workspace_id, Action.MANAGE_WEBHOOKS)
    return workspace_id


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The workspace's endpoints and the form that adds one; the new secret is shown once."""
    workspace_id = _admin_workspace(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                workspace_id=workspace_id,
                actor=actor_of(request),
                url=form.cleaned_data["url"],
                events=form.chosen_events,
            )
        except UrlNotAllowed as exc:
            form.add_error("url", exc.message)
        else:
            return render(request, "notifications/webhook_secret.html", {"endpoint": endpoint})
    endpoints = WebhookEndpoint.objects.filter(workspace_id=workspace_id)
    return render(
        request,
        "notifications/webhooks.html",
        {"endpoints": endpoints, "form": form, "event_labels": dict(EventType.choices)},
        status=400 if form.errors else 200,
    )


def _endpoint(request: AuthenticatedHttpRequest, endpoint_id: object) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=endpoint_id, workspace_id=_admin_workspace(request))


@login_required
def webhook_detail(request: AuthenticatedHttpRequest, endpoint_id: object) -> HttpResponse:
    """One endpoint's recent deliveries, each with its attempts and a Resend button."""
    endpoint = _endpoint(request, endpoint_id)
    rows = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("-attempted_at", "-id")))
    )[:DELIVERIES_SHOWN]
    return render(request, "notifications/webhook_detail.html", {"endpoint": endpoint, "deliveries": rows})


@login_required
@require_POST
def webhook_toggle(request: AuthenticatedHttpRequest, endpoint_id: object) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoint = services.endpoint_update(endpoint=endpoint, actor=actor_of(request), enabled=not endpoint.enabled)
    messages.success(request, f"{endpoint.url} is {'enabled' if endpoint.enabled else 'disabled'}.")
    return redirect("webhooks")


@login_required
@require_POST
def webhook_delete(request: AuthenticatedHttpRequest, endpoint_id: object) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    services.endpoint_delete(endpoint=endpoint, actor=actor_of(request))
    messages.success(request, f"{endpoint.url} was deleted.")
    return redirect("webhooks")


@login_required
@require_POST
def delivery_resend(request: AuthenticatedHttpRequest, endpoint_id: object, delivery_id: object) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=delivery_id, endpoint=endpoint)
    services.delivery_resend(delivery=delivery, actor=actor_of(request))
    messages.success(request, f"The {delivery.event.type} event was queued again.")
    return redirect("webhook-detail", endpoint_id=endpoint.pk)


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Which events the member is e-mailed about in the current workspace (admins and owners are)."""
    membership = current_membership(request)
    muted = services.opt_outs_of(membership)
    if request.method == "POST":
        form = NotificationForm(request.POST)
        if form.is_valid():
            chosen = set(form.cleaned_data["emailed"])
            services.opt_outs_set(membership=membership, muted=set(EventType.values) - chosen)
            messages.success(request, "Your notification settings were saved.")
            return redirect("notification-settings")
    else:
        form = NotificationForm(initial={"emailed": [t for t in EventType.values if t not in muted]})
    context = {"form": form, "receives_email": membership.role in NOTIFIED_ROLES, "email": request.user.email}
    return render(request, "notifications/settings.html", context)
