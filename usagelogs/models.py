"""One row per API request, blocked ones included. Never holds a secret, query or body."""

from __future__ import annotations

from uuid import UUID

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
        # Newest first: by the time of the request, then by id between requests of the same
        # microsecond. On PostgreSQL the table is partitioned by that time (see partitions.py), so
        # a page of any date range is an index range in one or two daily partitions.
        ordering = ["-timestamp", "-id"]
        # The API, the page and the CSV always filter by workspace, so every filter index starts
        # with it, and ends with the page order, so that any page, however deep or old, is an
        # index range of 51 rows.
        indexes = [
            models.Index(fields=["workspace", "-timestamp", "-id"], name="log_ws_ts_id"),
            models.Index(fields=["workspace", "api_key", "-timestamp", "-id"], name="log_ws_key_ts_id"),
            models.Index(
                fields=["workspace", "api_key", "status_code", "-timestamp", "-id"], name="log_ws_key_status_ts_id"
            ),
            models.Index(fields=["workspace", "status_code", "-timestamp", "-id"], name="log_ws_status_ts_id"),
            models.Index(fields=["workspace", "decision", "-timestamp", "-id"], name="log_ws_decision_ts_id"),
            models.Index(fields=["workspace", "method", "-timestamp", "-id"], name="log_ws_method_ts_id"),
            models.Index(fields=["workspace", "client_ip_key"], name="log_ws_ip"),
            # Retention: the trim of the oldest partition and of the default one.
            models.Index(fields=["timestamp"], name="log_ts"),
            # A key's recently blocked addresses (the allowlist page); the key's ON DELETE SET NULL.
            models.Index(fields=["api_key", "decision", "timestamp"], name="log_key_decision_ts"),
        ]
        verbose_name = "API usage log"

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"


NO_KEY = UUID(int=0)


class StatusClass(models.TextChoices):
    """Status codes by class; 429 (rate limited, over quota) is a class of its own."""

    INFORMATIONAL = "1xx", "1xx"
    SUCCESS = "2xx", "2xx"
    REDIRECT = "3xx", "3xx"
    CLIENT_ERROR = "4xx", "4xx other than 429"
    TOO_MANY = "429", "429"
    SERVER_ERROR = "5xx", "5xx"


def status_class(code: int) -> str:
    """The class a status code is counted in: ``429`` alone, otherwise ``2xx``, ``4xx``, ..."""
    return "429" if code == 429 else f"{min(max(code // 100, 1), 5)}xx"


class RollupCounts(models.Model):
    """What both levels of the rollup count per group: a workspace's requests of one key, decision
    and status class, and their total response time.

    ``key_id`` is the key's id, or :data:`NO_KEY` for requests that named no key (a browser session):
    a plain column rather than a foreign key, so that deleting a key neither rewrites nor loses the
    counts, and so that the group's unique constraint never holds a NULL.
    """

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    key_id = models.UUIDField(default=NO_KEY)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    status_class = models.CharField(max_length=3, choices=StatusClass.choices)
    requests = models.BigIntegerField(default=0)
    total_response_ms = models.FloatField(default=0)

    class Meta:
        abstract = True


class UsageRollup(RollupCounts):
    """Requests per workspace, key, hour, decision and status class, written with each log batch."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index of every read: a workspace's hours, then the rest of the group.
            models.UniqueConstraint(
                fields=["workspace", "hour", "key_id", "decision", "status_class"], name="rollup_group"
            ),
        ]
        indexes = [models.Index(fields=["hour"], name="rollup_hour")]  # retention
        verbose_name = "hourly usage rollup"

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.decision} {self.status_class}: {self.requests}"


class DailyRollup(RollupCounts):
    """The hourly rollup summed per UTC day, for the days :class:`SealedDay` says are sealed.

    The worker seals a day once it has ended for a while (see ``daily.py``); a batch that arrives
    later for a sealed day marks it dirty, and the day is read from its hours until it is sealed again.
    """

    day = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "key_id", "decision", "status_class"], name="daily_rollup_group"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="daily_rollup_day")]  # sealing and retention
        verbose_name = "daily usage rollup"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.decision} {self.status_class}: {self.requests}"


class SealedDay(models.Model):
    """A UTC day whose :class:`DailyRollup` rows hold the sum of its hours, unless ``dirty``."""

    day = models.DateTimeField(primary_key=True)
    dirty = models.BooleanField(default=False)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sealed rollup day"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}{' (dirty)' if self.dirty else ''}"
