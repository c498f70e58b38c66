"""Read-only admin of usage logs, filtered by the one FilterSet of the page, the API and the CSV."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest

from apikeys.admin_mixins import ReadOnlyAdminMixin, admin_scope
from apikeys.models import ApiKey
from workspaces.models import Workspace

from .filters import UsageLogFilter
from .models import UsageLog


def _staff_workspaces(request: HttpRequest) -> QuerySet[Workspace]:
    return admin_scope(request, Workspace.objects.order_by("name", "slug"), field="pk")


def _staff_keys(request: HttpRequest) -> QuerySet[ApiKey]:
    return admin_scope(request, ApiKey.objects.select_related("workspace").order_by("workspace__name", "name"))


class StaffFilterForm(forms.Form):
    field_order = ["workspace", "api_key"]  # the workspace first, then its keys


class StaffUsageLogFilter(UsageLogFilter):
    """The same filters, and the workspace; staff choose among the keys of every workspace they see."""

    workspace = django_filters.ModelChoiceFilter(
        queryset=_staff_workspaces, field_name="workspace", label="Workspace", null_label="No workspace"
    )
    api_key = django_filters.ModelChoiceFilter(queryset=_staff_keys, field_name="api_key", label="API key")

    class Meta(UsageLogFilter.Meta):
        form = StaffFilterForm


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
        "workspace",
        "key_prefix",
        "method",
        "path",
        "status_code",
        "client_ip",
        "decision",
        "error_code",
    ]
    search_fields = ["key_prefix", "path", "client_ip"]
    list_select_related = ["workspace"]
    show_full_result_count = False
    raw_id_fields = ["workspace", "api_key", "matched_entry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UsageLog]:
        """A superuser sees every row; other staff see their workspaces' rows and those of no workspace."""
        logs = super().get_queryset(request)
        if getattr(request.user, "is_superuser", False):
            return logs
        return admin_scope(request, logs) | logs.filter(workspace__isnull=True)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return UsageLogChangeList
