"""Settings > Developer > API Usage Logs pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/developer/logs/", views.usage_logs, name="usage-logs"),
]
