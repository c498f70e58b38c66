"""One row per API request, blocked ones included. Never holds a secret, query or body."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apikeys.models import AllowlistEntry, ApiKey
from workspaces.models import Workspace


class Decision(models.TextChoices):
    UNRESTRICTED = "unrestricted", "Unrestricted"
    ALLOWED = "allowed", "Allowed"
    BLOCKED = "blocked", "Blocked"
    WOULD_BLOCK = "would_block", "Would block"
    NONE = "none", "None"


class UsageLog(models.Model):
    """A recorded API request."""

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(default=timezone.now)
    # The workspace of the key that was presented (or of the signed-in session); empty when the
    # request named no known key. No single-column indexes on workspace and api_key: composite
    # indexes below start with them and serve the same lookups (cascades included), and every
    # index costs each insert.
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    key_prefix = models.CharField(max_length=8, blank=True, default="")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    status_code = models.PositiveSmallIntegerField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # Fixed-width hex of the address ("4:" or "6:" + digits), so that a CIDR filter is a range.
    client_ip_key = models.CharField(max_length=34, blank=True, default="")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    error_code = models.CharField(max_length=40, blank=True, default="")
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.NONE)
    matched_entry = models.ForeignKey(
        AllowlistEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matched_cidr = models.CharField(max_length=49, blank=True, default="")
    response_time_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["-id"]
        # The API, the page and the CSV always filter by workspace, so every filter index starts
        # with it: then it holds more equality columns than the plain workspace index, and SQLite,
        # which keeps no statistics unless told to, picks it over that one. "-id" serves the cursor
        # order.
        indexes = [
            models.Index(fields=["workspace", "-id"], name="log_ws_id"),
            models.Index(fields=["workspace", "api_key", "-id"], name="log_ws_key_id"),
            models.Index(fields=["workspace", "api_key", "status_code", "-id"], name="log_ws_key_status_id"),
            models.Index(fields=["workspace", "status_code", "-id"], name="log_ws_status_id"),
            models.Index(fields=["workspace", "decision", "-id"], name="log_ws_decision_id"),
            models.Index(fields=["workspace", "method", "-id"], name="log_ws_method_id"),
            models.Index(fields=["workspace", "timestamp"], name="log_ws_ts"),
            models.Index(fields=["workspace", "client_ip_key"], name="log_ws_ip"),
            # Retention pruning.
            models.Index(fields=["timestamp"], name="log_ts"),
            # A key's recently blocked addresses (the allowlist page); the key's ON DELETE SET NULL.
            models.Index(fields=["api_key", "decision", "timestamp"], name="log_key_decision_ts"),
        ]
        verbose_name = "API usage log"

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"
