"""DRF defaults of the apps' own API views, so that they answer the same in any host project.

A host's ``REST_FRAMEWORK`` settings govern its own views; the keys and usage-log endpoints
keep key-or-session authentication, JSON only, and the error envelope whatever they say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer

from .authentication import ApiKeyAuthentication
from .errors import exception_handler
from .permissions import IsKeyOrSessionUser

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass


class KeyfenceAPIMixin:
    """Mix into an ``APIView``: key first (it decides 401), then a browser session."""

    # Declared as APIView declares them, so that the classes mixing this in agree on their types.
    authentication_classes: Sequence[type[BaseAuthentication]] = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes: Sequence[_PermissionClass] = [IsKeyOrSessionUser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler
