"""API keys, their allowlist entries and their audit trail."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from .windows import window_status


class AllowlistMode(models.TextChoices):
    ENFORCE = "enforce", "Enforce"
    REPORT = "report", "Report only"


class ApiKey(models.Model):
    """An API key. Only its public prefix and a hash of the full key are stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The workspace the key belongs to (SPEC §13). The key outlives its creator's membership.
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    # After a roll, the previous secret keeps working until previous_expires_at.
    previous_secret_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    previous_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    allowlist_mode = models.CharField(max_length=10, choices=AllowlistMode.choices, default=AllowlistMode.ENFORCE)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The member who created the key: request.user for the key's requests, and the developer who
    # may manage it. A deactivated creator's keys stop working; a deleted one's keep working.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_keys",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    # Per-key limits (SPEC §18): {"requests": N, "per": "second"|"minute"|"hour"}, and requests a month.
    rate_limit = models.JSONField(null=True, blank=True, default=None)
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True, default=None)
    # Bumped by every change that matters to request handling; caches compare it.
    version = models.PositiveBigIntegerField(default=1, editable=False)

    # Never stored: set on a key just created or rolled, for the one response that shows its secret.
    key: str
    warnings: list[dict[str, str]]

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="apikey_workspace_created")]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def status(self) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class AllowlistEntry(models.Model):
    """One IP address or CIDR range, stored in canonical form."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="entries")
    cidr = models.CharField(max_length=49)
    label = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_matched_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A temporary or scheduled entry matches only from not_before until expires_at (SPEC §15).
    not_before = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["api_key", "cidr"], name="allowlist_unique_cidr")]
        verbose_name = "allowlist entry"
        verbose_name_plural = "allowlist entries"

    def __str__(self) -> str:
        return self.cidr

    @property
    def status(self) -> str:
        """``active``, ``scheduled`` (not started yet) or ``expired`` (its window has passed)."""
        return window_status(self.not_before, self.expires_at)


class AuditAction(models.TextChoices):
    KEY_CREATED = "key.created", "Key created"
    KEY_UPDATED = "key.updated", "Key updated"
    KEY_REVOKED = "key.revoked", "Key revoked"
    KEY_ROLLED = "key.rolled", "Key rolled"
    MODE_CHANGED = "allowlist.mode_changed", "Allowlist mode changed"
    ENTRY_ADDED = "allowlist.entry_added", "Entry added"
    ENTRY_UPDATED = "allowlist.entry_updated", "Entry updated"
    ENTRY_REMOVED = "allowlist.entry_removed", "Entry removed"
    ALLOWLIST_REPLACED = "allowlist.replaced", "Allowlist replaced"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    POLICY_CHANGED = "policy.changed", "Policies changed"
    KEY_LEAKED = "key.leaked", "Key reported leaked"
    CONTAINMENT_UNDONE = "key.containment_undone", "Leak containment undone"


class AuditEvent(models.Model):
    """A change in a workspace (to a key, its allowlist, a member or a policy): who, when, from
    where, before and after. Member and policy events name no key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Who acted when neither a user nor a key did: "secret scanning", "inactive keys".
    actor_system = models.CharField(max_length=40, blank=True, default="")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    # Never stored: set by selectors.history_for, a readable line about the change.
    summary: str

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["api_key", "-created_at"], name="audit_key_created"),
            models.Index(fields=["workspace", "-created_at"], name="audit_workspace_created"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.api_key_id or self.workspace_id}"


class LeakResponse(models.TextChoices):
    """What a report of a leaked key does to it (SPEC §17)."""

    NOTIFY = "notify", "Notify the workspace"
    RESTRICT = "restrict", "Restrict the key"
    REVOKE = "revoke", "Revoke the key"


class WorkspacePolicy(models.Model):
    """The rules a workspace's keys follow (SPEC §14). A workspace without a row has the defaults.

    The ranges are checked by ``services.policies``; the constraints keep the database honest.
    """

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="policy"
    )
    require_allowlist = models.BooleanField(default=False)
    # Canonical {"cidr", "label"} entries: what a new key starts with when none are given.
    default_allowlist = models.JSONField(default=list, blank=True)
    max_key_lifetime_days = models.PositiveIntegerField(null=True, blank=True)
    inactive_key_days = models.PositiveIntegerField(null=True, blank=True)
    leak_response = models.CharField(max_length=10, choices=LeakResponse.choices, default=LeakResponse.RESTRICT)
    # null or {"requests": N, "per": "second" | "minute" | "hour"} (SPEC §18).
    default_rate_limit = models.JSONField(null=True, blank=True)
    # When the policies last changed; null while they are the defaults nobody has changed.
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "workspace policy"
        verbose_name_plural = "workspace policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_key_lifetime_days__isnull=True)
                | models.Q(max_key_lifetime_days__gte=1, max_key_lifetime_days__lte=3650),
                name="policy_lifetime_range",
            ),
            models.CheckConstraint(
                condition=models.Q(inactive_key_days__isnull=True)
                | models.Q(inactive_key_days__gte=7, inactive_key_days__lte=3650),
                name="policy_inactive_range",
            ),
            models.CheckConstraint(
                condition=models.Q(leak_response__in=LeakResponse.values), name="policy_leak_response_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Policies of {self.workspace_id}"


class ContainmentOutcome(models.TextChoices):
    NOTIFIED = "notified", "Notified"
    RESTRICTED = "restricted", "Restricted to recent addresses"
    REVOKED = "revoked", "Revoked"


class Containment(models.Model):
    """What a leak report did to a key (SPEC §17), and what Undo containment restores."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="containments")
    outcome = models.CharField(max_length=10, choices=ContainmentOutcome.choices)
    # Where the key was found (GitHub's "url"), or how it was reported.
    source = models.CharField(max_length=500, blank=True, default="")
    previous_mode = models.CharField(max_length=10, choices=AllowlistMode.choices)
    previous_entries = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["api_key", "-created_at"], name="containment_key_created")]

    def __str__(self) -> str:
        return f"{self.outcome} {self.api_key_id}"
