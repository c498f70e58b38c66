"""Events, who hears of them (e-mail opt-outs, webhook endpoints) and each delivery (SPEC §16)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    KEY_CREATED = "key.created", "Key created"
    KEY_ROLLED = "key.rolled", "Key rolled"
    KEY_REVOKED = "key.revoked", "Key revoked"
    KEY_EXPIRING = "key.expiring", "Key expiring soon"
    ALLOWLIST_CHANGED = "allowlist.changed", "Allowlist changed"
    IP_BLOCKED = "ip.blocked", "Address blocked"
    IP_NEW = "ip.new", "New address (report-only key)"
    KEY_LEAKED = "key.leaked", "Key reported leaked"
    KEY_QUOTA = "key.quota", "Monthly quota at 80 % or 100 %"
    POLICY_CHANGED = "policy.changed", "Policies changed"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"


class Event(models.Model):
    """Something that happened in a workspace, stored in the transaction that caused it.

    ``dispatched_at`` stays empty until the worker has sent its e-mails and queued its webhook
    deliveries: the periodic sweep finds events whose queue message was lost (a broker outage).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40, choices=EventType.choices)
    api_key = models.ForeignKey("apikeys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(dispatched_at__isnull=True), name="event_pending"),
            models.Index(fields=["workspace", "-created_at"], name="event_workspace_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.id.hex}"


class EventMark(models.Model):
    """When an event of one kind last fired for a key and an address: the deduplication record.

    The unique constraint makes "at most once per window" exact across servers, without Redis.
    """

    kind = models.CharField(max_length=40)
    api_key = models.ForeignKey("apikeys.ApiKey", on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=45, blank=True, default="")
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "api_key", "address"], name="event_mark_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.api_key_id} {self.address}"


class NotificationOptOut(models.Model):
    """A member who does not want e-mail about one event type in one workspace."""

    membership = models.ForeignKey("workspaces.Membership", on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40, choices=EventType.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "event_type"], name="optout_unique")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.event_type}"


class WebhookEndpoint(models.Model):
    """A URL that receives a workspace's events, signed with its own secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2048)
    # Event types, or ["*"] for all.
    events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    # Kept as given: the server signs with it. Shown once, in the create response.
    secret = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Since when every attempt has failed; cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Why the server turned it off (``failing``), empty if it did not.
    disabled_reason = models.CharField(max_length=20, blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with its retry state."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # Failed attempts since it was queued (or resent): the position in the backoff schedule.
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_unique")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """One HTTP request to an endpoint: when, what it answered, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    # Why it failed without an HTTP status: a timeout, a TLS error, a refused address.
    error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
