"""Usage-log API: the filtered list, cursor-paginated, and the CSV export of the same filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.drf import KeyfenceAPIMixin
from apikeys.permissions import HasScopes
from apikeys.request import workspace_id_of
from apikeys.schema import api_operation, error_codes

from .export import csv_lines, csv_response
from .filters import UsageLogFilter
from .models import UsageLog
from .selectors import NEWEST_FIRST, logs_for, read_in_windows
from .serializers import UsageLogSerializer


class UsageLogPagination(CursorPagination):
    """Keyset pagination, newest first by time (ties by id): no OFFSET over the table, no COUNT(*).

    The cursor holds the time of the page's edge, so a page of any age is one index range, in one
    daily partition on PostgreSQL.
    """

    ordering: tuple[str, ...] = NEWEST_FIRST
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        """DRF's cursor pagination, with the page read through time windows (``read_in_windows``)
        so that PostgreSQL plans it over the partitions of a day or a week, not of every day."""
        self.request = request
        self.page_size = size = self.get_page_size(request) or UsageLogPagination.page_size
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset, reverse = (self.cursor.offset, self.cursor.reverse) if self.cursor is not None else (0, False)
        # A cursor's position is the text of a time (DRF's stubs say int).
        position = cast(str | None, self.cursor.position if self.cursor is not None else None)
        moment = parse_datetime(str(position)) if position is not None else None
        since, until = time_bounds(view)
        if reverse:  # a "previous" link: the rows just newer than the position, oldest first
            queryset = queryset.order_by("timestamp", "id")
            if position is not None:
                queryset = queryset.filter(timestamp__gt=position)
            anchor, bound = moment, until
        else:
            queryset = queryset.order_by(*self.ordering)
            if position is not None:
                queryset = queryset.filter(timestamp__lt=position)
            now = timezone.now()
            anchor, bound = moment or min(until or now, now), since
        results = read_in_windows(
            queryset, offset + size + 1, start=offset, newest_first=not reverse, anchor=anchor, bound=bound
        )
        self.page = results[:size]
        more = len(results) > len(self.page)
        following = self._get_position_from_instance(results[-1], self.ordering) if more else None
        if reverse:
            self.page.reverse()
            self.has_next, self.next_position = position is not None or offset > 0, position
            self.has_previous, self.previous_position = following is not None, following
        else:
            self.has_next, self.next_position = following is not None, following
            self.has_previous, self.previous_position = position is not None or offset > 0, position
        self.display_page_controls = (self.has_previous or self.has_next) and self.template is not None
        return self.page

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                moment = parse_datetime(str(cursor.position))
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise NotFound(self.invalid_cursor_message)
        return cursor


LOGS_READ = "logs:read"
FILTERS_TEXT = (
    "Filters: `api_key`, `method`, `status_code` (404, or a class such as 4xx), `decision`, "
    "`blocked`, `client_ip` (an address or a CIDR range), and `since` / `until` (ISO 8601)."
)
FILTER_CODES = ("INVALID_CHOICE", "INVALID_STATUS", "INVALID_IP", "INVALID")


class LogFilterBackend(DjangoFilterBackend):
    """The one FilterSet, kept on the view: the pagination reads its ``since`` and ``until``."""

    def get_filterset(self, request: Request, queryset: Any, view: Any) -> Any:
        view.log_filterset = super().get_filterset(request, queryset, view)
        return view.log_filterset


def time_bounds(view: Any) -> tuple[Any, Any]:
    """The ``since`` and ``until`` the view's filter applied, each ``None`` when not given."""
    filterset = getattr(view, "log_filterset", None)
    if filterset is None or not filterset.is_valid():
        return None, None
    return filterset.form.cleaned_data.get("since"), filterset.form.cleaned_data.get("until")


class WorkspaceLogsMixin(KeyfenceAPIMixin, GenericAPIView):
    """The logs of the caller's workspace, through the one FilterSet, for the list and the export alike."""

    permission_classes = [HasScopes(LOGS_READ)]
    filter_backends = [LogFilterBackend]
    filterset_class = UsageLogFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no workspace
            return UsageLog.objects.none()
        return logs_for(workspace_id=workspace_id_of(self.request))


class UsageLogListView(WorkspaceLogsMixin, ListAPIView):
    """The usage logs of the caller's workspace, filtered and cursor-paginated."""

    serializer_class = UsageLogSerializer
    pagination_class = UsageLogPagination

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("api_key")

    @api_operation(
        operation_id="usage_logs_list",
        summary="List usage logs",
        scope=LOGS_READ,
        description="Every API request made with the keys of the caller's workspace, blocked ones included, "
        "newest first. "
        f"{FILTERS_TEXT} Cursor-paginated: follow `next`.",
        responses={200: UsageLogSerializer(many=True)},
        errors=error_codes(query=True, cursor=True),
        field_codes=FILTER_CODES,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CsvRenderer(BaseRenderer):
    """The export's media type: rows of the export's columns as CSV, cells neutralised.

    The export streams its rows itself; errors are JSON responses of their own.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        return "".join(csv_lines(data or ())).encode()


class AlwaysFirstRenderer(BaseContentNegotiation):
    """The export answers CSV whatever ``Accept`` or ``?format=`` asks for, as a download does."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class UsageLogExportView(WorkspaceLogsMixin, GenericAPIView):
    """The usage logs of the caller's workspace as a streamed CSV file."""

    renderer_classes = [CsvRenderer]
    content_negotiation_class = AlwaysFirstRenderer
    # No OPTIONS description: it would be JSON sent as text/csv. OPTIONS answers 405.
    metadata_class = None

    @api_operation(
        operation_id="usage_logs_export",
        summary="Export usage logs as CSV",
        scope=LOGS_READ,
        description="The usage logs of the caller's workspace as a CSV file, streamed, newest first, with the "
        "filters of the "
        f"list. {FILTERS_TEXT} Cells that a spreadsheet would run as a formula start with `'`.",
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description=(
                    "CSV with the header row timestamp,key_name,key_prefix,method,path,status_code,client_ip,decision,"
                    "error_code,response_time_ms,user_agent, sent as an attachment named "
                    "api-usage-logs-YYYYMMDD-HHMMSS.csv."
                ),
            )
        },
        errors=error_codes(query=True, json=False),
        field_codes=FILTER_CODES,
        filters=True,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return csv_response(self.filter_queryset(self.get_queryset()), timezone.now())
