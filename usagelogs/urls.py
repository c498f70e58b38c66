"""API routes of the usage-log app; a trailing slash is optional."""

from django.urls import re_path

from . import api

urlpatterns = [
    re_path(r"^usage-logs/?$", api.UsageLogListView.as_view(), name="api-usage-logs"),
    re_path(r"^usage-logs/export/?$", api.UsageLogExportView.as_view(), name="api-usage-logs-export"),
]
