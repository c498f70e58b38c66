"""``policy_violations`` on key objects: the policies of its workspace an existing key breaks today."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import ApiKey, WorkspacePolicy
from .policy_rules import ALLOWLIST_REQUIRED, EXPIRY_TOO_LATE, violations
from .services.policies import policy_for

VIOLATION_CODES = [ALLOWLIST_REQUIRED, EXPIRY_TOO_LATE]
# Where a serialization keeps the policies it has read, by workspace id: one query per response.
_READ = "_policies_read"


def policy_in_context(context: Mapping[str, Any], workspace_id: Any) -> WorkspacePolicy:
    """The workspace's policies: ``context["policy"]`` when the view passed them, else read once.

    What it reads is kept in the serializer's context (a dict, shared by every item of a list).
    """
    given = context.get("policy")
    if isinstance(given, WorkspacePolicy) and str(given.workspace_id) == str(workspace_id):
        return given
    read = cast(dict[str, Any], context).setdefault(_READ, {})
    if workspace_id not in read:
        read[workspace_id] = policy_for(workspace_id)
    policy: WorkspacePolicy = read[workspace_id]
    return policy


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": VIOLATION_CODES},
        "description": "The workspace policies this key breaks today, such as ALLOWLIST_REQUIRED for a key "
        "with no allowlist entries. The key keeps working; empty for keys that comply and for revoked or "
        "expired keys.",
    }
)
class PolicyViolationsField(serializers.Field):
    """Computed from the key and its prefetched entries, with the policies read once per response."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: ApiKey) -> list[str]:
        return violations(policy_in_context(self.context, value.workspace_id), value)
