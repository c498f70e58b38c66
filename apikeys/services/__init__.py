"""Every write to keys, allowlists and workspace policies. Each service is keyword-only, typed
and transactional, and writes its audit event; views, the API, the admin and the commands call these alone."""

from ._common import (
    INVALID_GRACE,
    INVALID_MODE,
    INVALID_SCOPE,
    KEY_NOT_ACTIVE,
    SCOPE_NOT_HELD,
    UNSET,
    Actor,
    Unset,
)
from .allowlists import allowlist_add, allowlist_remove, allowlist_replace, allowlist_update
from .keys import key_create, key_mark_used, key_revoke, key_roll, key_update
from .policies import policy_for, policy_update

__all__ = [
    "INVALID_GRACE",
    "INVALID_MODE",
    "INVALID_SCOPE",
    "KEY_NOT_ACTIVE",
    "SCOPE_NOT_HELD",
    "UNSET",
    "Actor",
    "Unset",
    "allowlist_add",
    "allowlist_remove",
    "allowlist_replace",
    "allowlist_update",
    "key_create",
    "key_mark_used",
    "key_revoke",
    "key_roll",
    "key_update",
    "policy_for",
    "policy_update",
]
