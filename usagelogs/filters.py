"""The one FilterSet of usage logs, used by the page, the API and the CSV export (SPEC §5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import NotAuthenticated

from apikeys.models import ApiKey
from apikeys.networks import address_range
from apikeys.request import workspace_id_of

from .models import Decision, UsageLog

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_STATUS = re.compile(r"([1-5])(?:xx|XX)|([1-5][0-9]{2})")
# The same rule for API clients, which send the value as text: 404 and 4xx alike.
STATUS_PATTERN = r"^([1-5](xx|XX)|[1-5][0-9]{2})$"


def _workspace_keys(request: Any) -> QuerySet[ApiKey]:
    """The keys of the workspace the request acts in: the key's own, or the session's current one."""
    try:
        workspace_id = workspace_id_of(request)
    except NotAuthenticated:
        return ApiKey.objects.none()
    return ApiKey.objects.filter(workspace_id=workspace_id).order_by("name")


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


@extend_schema_field(
    {
        "type": "string",
        "pattern": STATUS_PATTERN,
        "example": "4xx",
        "description": "An exact status code, such as 404, or a class, such as 4xx.",
    }
)
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


@extend_schema_field(
    {"type": "string", "example": "203.0.113.0/24", "description": "A client IP address, or a CIDR range of them."}
)
class ClientIpFilter(InclusiveRangeFilter):
    field_class = ClientIpField


_TRUE, _FALSE = frozenset({"true", "1", "on"}), frozenset({"false", "0", ""})


class BlockedOnlyWidget(forms.CheckboxInput):
    """A checkbox on the page (``on``); ``true``/``1`` or ``false``/``0`` in an API query."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        value = data.get(name)
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return value


class BlockedOnlyField(forms.NullBooleanField):
    """True, False or None (not given); any other text is an error, never a silent yes."""

    widget = BlockedOnlyWidget

    # NullBooleanField's to_python may answer None; the stubs declare that only by ignoring the
    # override of BooleanField's, which a subclass must repeat.
    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        if value is None or isinstance(value, bool):
            return value
        raise ValidationError("Enter true or false.", code="invalid")


@extend_schema_field(
    {"type": "boolean", "description": "true (or 1): blocked requests only. false (or 0), or left out: no filter."}
)
class BlockedOnlyFilter(django_filters.BooleanFilter):
    field_class = BlockedOnlyField

    def filter(self, qs: QuerySet, value: bool | None) -> QuerySet:
        return qs.filter(decision=Decision.BLOCKED) if value else qs


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned to UTC: any offset Python accepts, the database accepts too."""

    def clean(self, value: Any) -> datetime | None:
        moment: datetime | None = super().clean(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Enter a date and time between the years 1 and 9999.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class UsageLogFilter(django_filters.FilterSet):
    """Filters: api_key, method, status_code, decision, blocked, client_ip, since, until."""

    api_key = django_filters.ModelChoiceFilter(queryset=_workspace_keys, field_name="api_key", label="API key")
    method = django_filters.ChoiceFilter(choices=[(m, m) for m in METHODS], label="HTTP method")
    status_code = StatusCodeFilter(
        field_name="status_code", label="Status code", help_text="Exact, such as 404, or a class, such as 4xx."
    )
    decision = django_filters.ChoiceFilter(choices=Decision.choices, label="Decision")
    blocked = BlockedOnlyFilter(label="Blocked only")
    client_ip = ClientIpFilter(field_name="client_ip_key", label="Client IP or range")
    since = UtcDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="Since")
    until = UtcDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="Until")

    class Meta:
        model = UsageLog
        fields: list[str] = []
