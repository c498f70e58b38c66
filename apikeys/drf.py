"""DRF defaults of the apps' own API views, so that they answer the same in any host project.

A host's ``REST_FRAMEWORK`` settings govern its own views; the keys and usage-log endpoints
keep key-or-session authentication, JSON only, and the error envelope whatever they say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from .authentication import ApiKeyAuthentication
from .errors import exception_handler
from .permissions import IsKeyOrSessionUser


class KeyfenceAPIMixin:
    """Mix into an ``APIView``: key first (it decides 401), then a browser session."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes: list[Any] = [IsKeyOrSessionUser]
    renderer_classes: list[Any] = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler
