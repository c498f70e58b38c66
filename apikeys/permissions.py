"""Permissions for key-authenticated and session-authenticated API requests."""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from .errors import ApiError
from .keycache import KeyRecord

INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"


def _require_authenticated(request: Any) -> None:
    if request.auth is None and not (request.user is not None and request.user.is_authenticated):
        raise exceptions.NotAuthenticated()


class IsKeyOrSessionUser(BasePermission):
    """Any valid key, or a signed-in browser session."""

    def has_permission(self, request: Any, view: Any) -> bool:
        _require_authenticated(request)
        return True


class HasScopes(BasePermission):
    """Require every named scope of a key; a signed-in owner's session holds them all.

    Use an instance in ``permission_classes``: ``[HasScopes("orders:read")]``.
    """

    def __init__(self, *scopes: str) -> None:
        self.scopes = frozenset(scopes)

    def __call__(self) -> "HasScopes":
        return self

    def has_permission(self, request: Any, view: Any) -> bool:
        _require_authenticated(request)
        auth = request.auth
        if isinstance(auth, KeyRecord) and not self.scopes <= auth.scopes:
            missing = ", ".join(sorted(self.scopes - auth.scopes))
            raise ApiError(INSUFFICIENT_SCOPE, f"This API key lacks the scope {missing}.", 403)
        return True

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return True
