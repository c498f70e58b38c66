"""Webhook deliveries: one attempt at a time, retried on the backoff schedule, then failed.

An attempt first takes a lease on its delivery (a conditional update of ``next_attempt_at``), so
a scheduled retry and the sweep never send the same delivery twice at once; a worker that dies
mid-attempt leaves a lease that expires, and the sweep tries again.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import emails, sender
from .conf import conf
from .models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .payloads import event_bytes
from .signing import SIGNATURE_HEADER, header

logger = logging.getLogger("keyfence.notifications")
FAILING = "failing"


def enqueue(delivery_id: Any, delay: float = 0) -> None:
    """Hand the delivery to the worker; a broker outage leaves it for the sweep."""
    from .tasks import deliver

    try:
        if delay > 0:
            deliver.schedule(args=(str(delivery_id),), delay=delay)
        else:
            deliver(str(delivery_id))
    except Exception:
        logger.warning("Could not queue delivery %s now; the worker's sweep will send it.", delivery_id, exc_info=True)


def attempt(delivery_id: Any, *, now: datetime | None = None) -> DeliveryAttempt | None:
    """Send a due delivery once and record the attempt; ``None`` if it is not due or is taken."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=conf.WEBHOOK_TIMEOUT + 60)
    taken = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    if not taken:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event__workspace").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if endpoint.enabled:
        body = event_bytes(delivery.event)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: header(endpoint.secret, int(time.time()), body),
            "Keyfence-Event": delivery.event.type,
            "Keyfence-Delivery": str(delivery.pk),
        }
        outcome = sender.post(endpoint.url, body, headers)
    else:
        outcome = sender.Outcome(None, 0, "The endpoint is disabled.")
    return _record(delivery, outcome, timezone.now())


def _record(delivery: WebhookDelivery, outcome: sender.Outcome, now: datetime) -> DeliveryAttempt:
    endpoint = delivery.endpoint
    with transaction.atomic():
        row = DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error[:200],
        )
        if outcome.ok:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        else:
            delivery.failures += 1
            backoff = conf.WEBHOOK_BACKOFF
            if delivery.failures > len(backoff) or not endpoint.enabled:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=backoff[delivery.failures - 1])
            if _note_failure(endpoint, now):
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.save(update_fields=["status", "failures", "next_attempt_at"])
    if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
        enqueue(delivery.pk, delay=(delivery.next_attempt_at - now).total_seconds())
    return row


def _note_failure(endpoint: WebhookEndpoint, now: datetime) -> bool:
    """Remember since when the endpoint fails; after ``WEBHOOK_DISABLE_AFTER_DAYS``, turn it off (``True``)."""
    if not endpoint.enabled:
        return False
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(days=conf.WEBHOOK_DISABLE_AFTER_DAYS)
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True, failing_since__lte=cutoff).update(
        enabled=False, disabled_reason=FAILING
    )
    if disabled:
        # Its pending deliveries would only fail too: they stay in the log, marked failed.
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None
        )
        transaction.on_commit(lambda: emails.endpoint_disabled(endpoint.pk))
    return bool(disabled)


def resend(delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a delivery again now, with a fresh backoff schedule; its earlier attempts stay listed."""
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, failures=0, next_attempt_at=now
        )
        transaction.on_commit(lambda: enqueue(delivery.pk))
    delivery.refresh_from_db()
    return delivery


def due(now: datetime, limit: int = 500) -> list[Any]:
    """Pending deliveries whose time has come (or whose lease ran out)."""
    return list(
        WebhookDelivery.objects.filter(Q(next_attempt_at__lte=now), status=DeliveryStatus.PENDING)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
