"""The host project's own API view, protected by the keys app, beside the keys API."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication
from apikeys.permissions import HasScopes


class OrderList(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScopes("orders:read")]

    def get(self, request: Request) -> Response:
        return Response({"orders": [], "key": request.auth.name})


urlpatterns: list[Any] = [
    path("api/orders", OrderList.as_view()),
    path("api/v1/", include("apikeys.urls")),
]
