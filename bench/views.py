"""One DRF view body, served behind each authentication design that the benchmarks compare."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication
from apikeys.permissions import IsKeyOrSessionUser

from .models import RequestLog


class PlainView(APIView):
    """The floor: no authentication, no permission."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class TokenView(PlainView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]


class TrackedTokenView(TokenView):
    """Token authentication plus one INSERT per request, written before the response returns."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        self._requested_at = timezone.now()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response.render()
        user = request.user if getattr(request.user, "is_authenticated", False) else None
        RequestLog.objects.create(
            user=user,
            requested_at=getattr(self, "_requested_at", timezone.now()),
            response_ms=int((time.perf_counter() - getattr(self, "_started", time.perf_counter())) * 1000),
            path=request.path[:200],
            view=f"{type(self).__module__}.{type(self).__name__}",
            view_method=request.method.lower(),
            remote_addr=request.META.get("REMOTE_ADDR") or "0.0.0.0",
            host=request.get_host(),
            method=request.method,
            query_params=str(dict(request.query_params)),
            data=None,
            response=response.content.decode(),
            errors=None,
            status_code=response.status_code,
        )
        return response


class KeyfenceView(PlainView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsKeyOrSessionUser]


class KeyfenceIsAuthenticatedView(PlainView):
    """What most host projects write: the key class with DRF's own ``IsAuthenticated``."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]


VIEWS: dict[str, type[APIView]] = {
    "plain": PlainView,
    "token": TokenView,
    "token_log": TrackedTokenView,
    "keyfence": KeyfenceView,
    "keyfence_is_authenticated": KeyfenceIsAuthenticatedView,
}

if "rest_framework_api_key" in settings.INSTALLED_APPS:
    from rest_framework_api_key.permissions import HasAPIKey

    class ApiKeyPackageView(PlainView):
        permission_classes = [HasAPIKey]

    VIEWS["drf_api_key"] = ApiKeyPackageView
