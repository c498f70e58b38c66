"""Read-only admin of usage logs, with the same filters as the page and the API."""
from __future__ import annotations

from django.contrib import admin

from apikeys.admin import ReadOnlyAdminMixin

from .models import UsageLog


@admin.register(UsageLog)
class UsageLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["timestamp", "owner", "key_prefix", "method", "path", "status_code", "client_ip", "decision", "error_code"]
    list_filter = [("api_key", admin.RelatedOnlyFieldListFilter), "method", "status_code", "decision",
                   ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["key_prefix", "path", "client_ip"]
    list_select_related = ["owner"]
    show_full_result_count = False
    raw_id_fields = ["owner", "api_key", "matched_entry"]
