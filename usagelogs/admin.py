"""Read-only admin of usage logs, with the same filters as the page and the API."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import UsageLog


@admin.register(UsageLog)
class UsageLogAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "owner", "key_prefix", "method", "path", "status_code", "client_ip", "decision", "error_code"]
    list_filter = [("api_key", admin.RelatedOnlyFieldListFilter), "method", "status_code", "decision",
                   ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["key_prefix", "path", "client_ip"]
    list_select_related = ["owner"]
    show_full_result_count = False
    raw_id_fields = ["owner", "api_key", "matched_entry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
