"""Usage-log API: the filtered list, cursor-paginated, and the CSV export of the same filter."""
from __future__ import annotations

import json

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from apikeys.api import owner_id_of
from apikeys.permissions import HasScopes

from .export import csv_response
from .filters import UsageLogFilter
from .models import UsageLog
from .selectors import logs_for
from .serializers import UsageLogSerializer


class UsageLogPagination(CursorPagination):
    """Keyset pagination by id: no OFFSET, no COUNT(*) over the table."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class UsageLogListView(ListAPIView):
    permission_classes = [HasScopes("logs:read")]
    serializer_class = UsageLogSerializer
    pagination_class = UsageLogPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = UsageLogFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation has no owner
            return UsageLog.objects.none()
        return logs_for(owner_id=owner_id_of(self.request)).select_related("api_key")


class CsvRenderer(BaseRenderer):
    """Lets clients ask for ``text/csv``; error bodies stay JSON."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # type: ignore[no-untyped-def]
        return json.dumps(data).encode() if data is not None else b""


class UsageLogExportView(APIView):
    permission_classes = [HasScopes("logs:read")]
    renderer_classes = [JSONRenderer, CsvRenderer]
    queryset = UsageLog.objects.none()  # for the schema generator only
    filter_backends = [DjangoFilterBackend]
    filterset_class = UsageLogFilter

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="CSV of the filtered logs")},
        filters=True, operation_id="usage_logs_export",
    )
    def get(self, request: Request):  # type: ignore[no-untyped-def]
        queryset = DjangoFilterBackend().filter_queryset(request, logs_for(owner_id=owner_id_of(request)), self)
        return csv_response(queryset, timezone.now())
