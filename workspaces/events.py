"""What happened in a workspace, announced to the layers above it.

Workspaces sit below apikeys, whose audit trail records these changes, so they are sent as a
Django signal rather than written here. Receivers run synchronously, inside the transaction
of the change: if recording it fails, the change is rolled back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

MEMBER_ADDED = "member.added"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_REMOVED = "member.removed"

# Sent with sender=Membership and the keyword arguments ``action`` (one of the names above),
# ``workspace_id``, ``actor`` (an access.Actor), ``before`` and ``after`` (``{"user", "role"}``
# or ``None``).
member_changed = Signal()
