"""Permissions for key-authenticated and session-authenticated API requests.

Both are ordinary DRF permissions: they answer ``False`` rather than raise, so that they
compose with ``&``, ``|`` and ``~``, and DRF turns a refusal into 401 (nobody authenticated)
or 403 (the permission's ``message`` and ``code``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rest_framework.permissions import BasePermission

from .records import KeyRecord

INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"


def _authenticated(request: Any) -> bool:
    return request.auth is not None or (request.user is not None and request.user.is_authenticated)


class IsKeyOrSessionUser(BasePermission):
    """Any valid key, or a signed-in browser session."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return _authenticated(request)


class ScopePermission(BasePermission):
    """Require every scope in ``scopes`` of a key; a signed-in owner's session holds them all.

    Subclass it with ``scopes`` set, or let :func:`HasScopes` do that.
    """

    scopes: frozenset[str] = frozenset()
    code = INSUFFICIENT_SCOPE
    message = "This API key lacks a scope this endpoint needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        auth = request.auth
        if isinstance(auth, KeyRecord):
            missing = self.scopes - auth.scopes
            if missing:
                self.message = f"This API key lacks the scope {', '.join(sorted(missing))}."
            return not missing
        return _authenticated(request)


@lru_cache(maxsize=256)
def HasScopes(*scopes: str) -> type[ScopePermission]:  # noqa: N802 - reads as the class it returns
    """A permission class requiring ``scopes``: ``permission_classes = [HasScopes("orders:read")]``.

    It composes like any DRF permission: ``[HasScopes("orders:read") | HasScopes("orders:admin")]``.
    The same scopes give the same class, so views may call this per request.
    """
    name = f"HasScopes({', '.join(sorted(scopes))})"
    return type(name, (ScopePermission,), {"scopes": frozenset(scopes), "__module__": __name__})
