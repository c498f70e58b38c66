"""Settings > Developer pages for API keys."""

from django.urls import path

from . import policy_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/developer/", views.developer, name="developer"),
    path("settings/developer/keys/new/", views.key_create, name="key-create"),
    path("settings/developer/keys/<uuid:key_id>/allowlist/", views.allowlist, name="key-allowlist"),
    path("settings/developer/keys/<uuid:key_id>/roll/", views.key_roll, name="key-roll"),
    path("settings/developer/keys/<uuid:key_id>/revoke/", views.key_revoke, name="key-revoke"),
    path("settings/developer/policies/", policy_views.policies, name="policies"),
]
