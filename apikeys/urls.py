"""API routes of the keys app; a trailing slash is optional."""

from django.urls import re_path

from . import allowlist_api, api, members_api, policies_api, rollout_api, secret_scanning_api

UUID = r"[0-9a-fA-F-]{1,64}"

urlpatterns = [
    re_path(r"^whoami/?$", api.WhoamiView.as_view(), name="api-whoami"),
    re_path(r"^keys/?$", api.KeyListView.as_view(), name="api-keys"),
    re_path(rf"^keys/(?P<key_id>{UUID})/?$", api.KeyDetailView.as_view(), name="api-key"),
    re_path(rf"^keys/(?P<key_id>{UUID})/roll/?$", api.KeyRollView.as_view(), name="api-key-roll"),
    re_path(rf"^keys/(?P<key_id>{UUID})/allowlist/?$", allowlist_api.AllowlistView.as_view(), name="api-allowlist"),
    re_path(
        rf"^keys/(?P<key_id>{UUID})/allowlist/suggestions/?$",
        rollout_api.AllowlistSuggestionsView.as_view(),
        name="api-allowlist-suggestions",
    ),
    re_path(
        rf"^keys/(?P<key_id>{UUID})/allowlist/simulate/?$",
        rollout_api.AllowlistSimulateView.as_view(),
        name="api-allowlist-simulate",
    ),
    re_path(
        rf"^keys/(?P<key_id>{UUID})/allowlist/(?P<entry_id>{UUID})/?$",
        allowlist_api.AllowlistEntryView.as_view(),
        name="api-allowlist-entry",
    ),
    re_path(rf"^keys/(?P<key_id>{UUID})/events/?$", api.KeyEventsView.as_view(), name="api-key-events"),
    re_path(r"^events/?$", api.WorkspaceEventsView.as_view(), name="api-events"),
    re_path(
        r"^secret-scanning/github/?$",
        secret_scanning_api.GitHubSecretScanningView.as_view(),
        name="api-secret-scanning-github",
    ),
    re_path(r"^policies/?$", policies_api.PolicyView.as_view(), name="api-policies"),
    re_path(r"^workspace/?$", members_api.WorkspaceView.as_view(), name="api-workspace"),
    re_path(r"^members/?$", members_api.MemberListView.as_view(), name="api-members"),
    re_path(rf"^members/(?P<member_id>{UUID})/?$", members_api.MemberDetailView.as_view(), name="api-member"),
]
