"""Settings > Developer > Webhooks and Settings > Notifications."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/developer/webhooks/", views.webhooks, name="webhooks"),
    path("settings/developer/webhooks/<uuid:endpoint_id>/", views.webhook_detail, name="webhook-detail"),
    path("settings/developer/webhooks/<uuid:endpoint_id>/toggle/", views.webhook_toggle, name="webhook-toggle"),
    path("settings/developer/webhooks/<uuid:endpoint_id>/delete/", views.webhook_delete, name="webhook-delete"),
    path(
        "settings/developer/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/resend/",
        views.delivery_resend,
        name="webhook-resend",
    ),
    path("settings/notifications/", views.notification_settings, name="notification-settings"),
]
