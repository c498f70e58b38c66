"""Fan an event out: one webhook delivery per endpoint that wants it, and the members' e-mails."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import deliveries, emails
from .models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("keyfence.notifications")
# An event younger than this may still have its own queue message on the way.
SWEEP_GRACE = timedelta(seconds=30)


def dispatch(event_id: Any) -> bool:
    """Dispatch the event once; ``False`` if it already was (or is being) dispatched.

    The claim and the deliveries are one transaction. If the e-mails then fail (the mail server
    is down), the claim is released and the sweep tries again; the deliveries are not made twice.
    """
    now = timezone.now()
    with transaction.atomic():
        if not Event.objects.filter(pk=event_id, dispatched_at__isnull=True).update(dispatched_at=now):
            return False
        event = Event.objects.select_related("workspace", "api_key").get(pk=event_id)
        endpoints = [
            e
            for e in WebhookEndpoint.objects.filter(workspace_id=event.workspace_id, enabled=True)
            if e.wants(event.type)
        ]
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(endpoint=e, event=event, next_attempt_at=now) for e in endpoints],
            ignore_conflicts=True,
        )
        pending = list(
            WebhookDelivery.objects.filter(
                event=event, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
            ).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: _enqueue_all(pending))
    try:
        emails.send_event_emails(event)
    except Exception:
        Event.objects.filter(pk=event_id).update(dispatched_at=None)
        logger.exception("Could not send the e-mails of event %s; the sweep will try again.", event_id)
        return False
    return True


def _enqueue_all(delivery_ids: list[Any]) -> None:
    for pk in delivery_ids:
        deliveries.enqueue(pk)


def sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """What the broker may have lost: undispatched events and overdue deliveries. Returns both counts."""
    now = now or timezone.now()
    events = list(
        Event.objects.filter(dispatched_at__isnull=True, created_at__lte=now - SWEEP_GRACE)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    sent = sum(1 for pk in events if dispatch(pk))
    overdue = deliveries.due(now - SWEEP_GRACE)
    for pk in overdue:
        deliveries.enqueue(pk)
    return sent, len(overdue)
