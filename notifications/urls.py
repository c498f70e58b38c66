"""API routes of the notifications app; a trailing slash is optional."""

from django.urls import re_path

from . import api

UUID = r"[0-9a-fA-F-]{1,64}"

urlpatterns = [
    re_path(r"^webhooks/?$", api.WebhookListView.as_view(), name="api-webhooks"),
    re_path(rf"^webhooks/(?P<endpoint_id>{UUID})/?$", api.WebhookDetailView.as_view(), name="api-webhook"),
    re_path(
        rf"^webhooks/(?P<endpoint_id>{UUID})/deliveries/?$",
        api.WebhookDeliveriesView.as_view(),
        name="api-webhook-deliveries",
    ),
    re_path(
        rf"^webhooks/(?P<endpoint_id>{UUID})/deliveries/(?P<delivery_id>{UUID})/resend/?$",
        api.WebhookResendView.as_view(),
        name="api-webhook-resend",
    ),
]
