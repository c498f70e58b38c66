"""Every write of this app: webhook endpoints, resends and members' e-mail choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apikeys.services import UNSET, Unset
from workspaces.access import Actor, authorize
from workspaces.models import Membership
from workspaces.roles import Action

from . import deliveries, urlguard
from .models import EventType, NotificationOptOut, WebhookDelivery, WebhookEndpoint
from .signing import new_secret

INVALID_EVENT_TYPE = "INVALID_EVENT_TYPE"
ALL = "*"


def validate_events(events: Any) -> list[str]:
    """A non-empty list of event types, or ``["*"]`` for all of them."""
    if not isinstance(events, list | tuple) or not events:
        raise ValidationError(
            {"events": ValidationError("Choose at least one event type, or * for all.", code=INVALID_EVENT_TYPE)}
        )
    unknown = [e for e in events if not isinstance(e, str) or (e != ALL and e not in EventType.values)]
    if unknown:
        raise ValidationError(
            {"events": ValidationError(f"Unknown event type: {unknown[0]!s:.60}.", code=INVALID_EVENT_TYPE)}
        )
    chosen = set(events)
    return [ALL] if ALL in chosen else [t for t in EventType.values if t in chosen]


def validate_url(url: Any) -> str:
    """The URL, if it may receive webhooks; else :class:`urlguard.UrlNotAllowed`."""
    urlguard.check(url)
    return str(url).strip()


@transaction.atomic
def endpoint_create(
    *, workspace_id: Any, actor: Actor, url: Any, events: Any = (ALL,), enabled: bool = True
) -> WebhookEndpoint:
    """Create an endpoint (admins). Its ``secret`` is on the returned object, to be shown once."""
    authorize(actor, workspace_id, Action.MANAGE_WEBHOOKS)
    chosen = validate_events(list(events))
    endpoint = WebhookEndpoint.objects.create(
        workspace_id=workspace_id,
        url=validate_url(url),
        events=chosen,
        enabled=bool(enabled),
        secret=new_secret(),
        created_by_id=actor.acting_user_id,
    )
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: Actor,
    url: Any | Unset = UNSET,
    events: Any | Unset = UNSET,
    enabled: bool | Unset = UNSET,
) -> WebhookEndpoint:
    """Change what is passed. Enabling a disabled endpoint forgets its failures."""
    authorize(actor, endpoint.workspace_id, Action.MANAGE_WEBHOOKS)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not isinstance(events, Unset):
        endpoint.events = validate_events(events)
    if not isinstance(url, Unset) and url != endpoint.url:
        endpoint.url = validate_url(url)
    if not isinstance(enabled, Unset):
        if enabled and not endpoint.enabled:
            endpoint.failing_since, endpoint.disabled_reason = None, ""
        endpoint.enabled = bool(enabled)
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Delete an endpoint with its delivery log."""
    authorize(actor, endpoint.workspace_id, Action.MANAGE_WEBHOOKS)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def delivery_resend(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Queue a delivery again (admins), whatever became of it."""
    authorize(actor, delivery.endpoint.workspace_id, Action.MANAGE_WEBHOOKS)
    return deliveries.resend(delivery)


@transaction.atomic
def opt_outs_set(*, membership: Membership, muted: Iterable[str]) -> set[str]:
    """Replace the event types the member gets no e-mail about, in that workspace."""
    chosen = {t for t in muted if t in EventType.values}
    NotificationOptOut.objects.filter(membership=membership).exclude(event_type__in=chosen).delete()
    NotificationOptOut.objects.bulk_create(
        [NotificationOptOut(membership=membership, event_type=t) for t in sorted(chosen)], ignore_conflicts=True
    )
    return chosen


def opt_outs_of(membership: Membership) -> set[str]:
    return set(NotificationOptOut.objects.filter(membership=membership).values_list("event_type", flat=True))
