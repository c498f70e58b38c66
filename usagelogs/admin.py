"""Read-only admin of usage logs, filtered by the one FilterSet of the page, the API and the CSV."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest

from apikeys.admin_mixins import ReadOnlyAdminMixin
from apikeys.models import ApiKey

from .filters import UsageLogFilter
from .models import UsageLog


class StaffUsageLogFilter(UsageLogFilter):
    """The same filters; staff choose among every owner's keys, not only their own."""

    api_key = django_filters.ModelChoiceFilter(
        queryset=ApiKey.objects.select_related("owner").order_by("owner__username", "name"),
        field_name="api_key",
        label="API key",
    )


class UsageLogChangeList(ChangeList):
    """A changelist whose filtering is the FilterSet's; the admin's own lookups leave its fields alone."""

    log_filter: UsageLogFilter

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        lookups = super().get_filters_params(params)
        for name in StaffUsageLogFilter.base_filters:
            lookups.pop(name, None)
        return lookups

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[UsageLog]:
        queryset = super().get_queryset(request, exclude_parameters)
        self.log_filter = StaffUsageLogFilter(request.GET, queryset=queryset, request=request)
        if not self.log_filter.is_valid():
            return queryset.none()
        filtered: QuerySet[UsageLog] = self.log_filter.qs
        return filtered


@admin.register(UsageLog)
class UsageLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "timestamp",
        "owner",
        "key_prefix",
        "method",
        "path",
        "status_code",
        "client_ip",
        "decision",
        "error_code",
    ]
    search_fields = ["key_prefix", "path", "client_ip"]
    list_select_related = ["owner"]
    show_full_result_count = False
    raw_id_fields = ["owner", "api_key", "matched_entry"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return UsageLogChangeList
