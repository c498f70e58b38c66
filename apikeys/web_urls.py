"""Settings > Developer pages for API keys, and Settings > Members."""

from django.urls import path

from . import leak_views, limits_views, members_views, policy_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/developer/", views.developer, name="developer"),
    path("settings/developer/keys/new/", views.key_create, name="key-create"),
    path("settings/developer/keys/<uuid:key_id>/allowlist/", views.allowlist, name="key-allowlist"),
    path("settings/developer/keys/<uuid:key_id>/roll/", views.key_roll, name="key-roll"),
    path(
        "settings/developer/keys/<uuid:key_id>/containment/undo/",
        leak_views.containment_undo_view,
        name="key-containment-undo",
    ),
    path("settings/developer/keys/<uuid:key_id>/revoke/", views.key_revoke, name="key-revoke"),
    path("settings/developer/keys/<uuid:key_id>/limits/", limits_views.key_limits, name="key-limits"),
    path("settings/developer/policies/", policy_views.policies, name="policies"),
    path("settings/members/", members_views.member_list, name="members"),
    path("settings/members/add/", members_views.member_add, name="member-add"),
    path("settings/members/<uuid:member_id>/role/", members_views.member_role, name="member-role"),
    path("settings/members/<uuid:member_id>/remove/", members_views.member_remove, name="member-remove"),
    path(
        "settings/members/<uuid:member_id>/keys/<uuid:key_id>/revoke/",
        members_views.member_key_revoke,
        name="member-key-revoke",
    ),
]
