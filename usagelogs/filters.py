"""The one FilterSet of usage logs, used by the page, the API and the CSV export (SPEC §5)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import django_filters
from django_filters.fields import IsoDateTimeField
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from apikeys.models import ApiKey
from apikeys.networks import address_range

from .models import Decision, UsageLog

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_STATUS = re.compile(r"([1-5])(?:xx|XX)|([1-5][0-9]{2})")


def _owner_keys(request: Any) -> QuerySet[ApiKey]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ApiKey.objects.none()
    return ApiKey.objects.filter(owner_id=user.pk).order_by("name")


class StatusCodeField(forms.CharField):
    """An exact status code such as ``404`` or a class such as ``4xx``."""

    def clean(self, value: Any) -> tuple[int, int] | None:
        value = super().clean(value)
        if not value:
            return None
        match = _STATUS.fullmatch(value.strip())
        if not match:
            raise ValidationError("Enter a status code such as 404, or a class such as 4xx.", code="INVALID_STATUS")
        if match.group(1):
            base = int(match.group(1)) * 100
            return base, base + 99
        return int(match.group(2)), int(match.group(2))


class InclusiveRangeFilter(django_filters.Filter):
    """Filter ``field_name`` by the ``(low, high)`` pair its form field cleans to."""

    def filter(self, qs: QuerySet, value: tuple[Any, Any] | None) -> QuerySet:
        if not value:
            return qs
        low, high = value
        if low == high:
            return qs.filter(**{self.field_name: low})
        return qs.filter(**{f"{self.field_name}__gte": low, f"{self.field_name}__lte": high})


class StatusCodeFilter(InclusiveRangeFilter):
    field_class = StatusCodeField


class ClientIpField(forms.CharField):
    """An address or a CIDR range, cleaned to the range of sortable keys it covers."""

    def clean(self, value: Any) -> tuple[str, str] | None:
        value = super().clean(value)
        if not value:
            return None
        found = address_range(value)
        if found is None:
            raise ValidationError("Enter an IP address or a CIDR range.", code="INVALID_IP")
        return found


class ClientIpFilter(InclusiveRangeFilter):
    field_class = ClientIpField


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned to UTC: any offset Python accepts, the database accepts too."""

    def clean(self, value: Any) -> datetime | None:
        moment = super().clean(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise ValidationError("Enter a date and time between the years 1 and 9999.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class UsageLogFilter(django_filters.FilterSet):
    """Filters: api_key, method, status_code, decision, blocked, client_ip, since, until."""

    api_key = django_filters.ModelChoiceFilter(queryset=_owner_keys, field_name="api_key", label="API key")
    method = django_filters.ChoiceFilter(choices=[(m, m) for m in METHODS], label="HTTP method")
    status_code = StatusCodeFilter(field_name="status_code", label="Status code", help_text="Exact, such as 404, or a class, such as 4xx.")
    decision = django_filters.ChoiceFilter(choices=Decision.choices, label="Decision")
    blocked = django_filters.BooleanFilter(method="filter_blocked", label="Blocked only", widget=forms.CheckboxInput)
    client_ip = ClientIpFilter(field_name="client_ip_key", label="Client IP or range")
    since = UtcDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="Since")
    until = UtcDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="Until")

    class Meta:
        model = UsageLog
        fields: list[str] = []

    def filter_blocked(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        return qs.filter(decision=Decision.BLOCKED) if value else qs
