"""Settings > Developer > API Usage Logs: the one FilterSet, a chart and a keyset-paginated table."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from apikeys.request import AuthenticatedHttpRequest
from workspaces.current import current_membership

from . import chart
from .counts import chart_counts
from .filters import UsageLogFilter
from .selectors import Position, log_page, logs_for, read_in_windows

CURSORS = ("before", "after")
PAGE_SIZE = 50
_EMPTY_LABELS = {"api_key": "All keys", "method": "Any method", "decision": "Any decision"}


def _cursor(query: QueryDict, name: str) -> Position | None:
    return Position.parse(query.get(name, ""))


def filter_query(query: QueryDict, **cursor: Position) -> str:
    """The query string without its cursor, optionally with a new one: filters stay bookmarkable."""
    params = query.copy()
    for name in CURSORS:
        params.pop(name, None)
    for name, value in cursor.items():
        params[name] = str(value)
    return params.urlencode()


def _prepare_form(form: Any) -> None:
    """Presentation only: readable empty choices and native date-time pickers."""
    for name, label in _EMPTY_LABELS.items():
        field = form.fields[name]
        field.empty_label = label
        field.widget.choices = field.choices  # the widget still iterates the choices of the class's field
    for name in ("since", "until"):
        form.fields[name].widget.input_type = "datetime-local"
    form.fields["status_code"].widget.attrs.update({"placeholder": "404 or 4xx", "inputmode": "text"})


def _chart(queryset: Any, workspace_id: Any, cleaned: dict[str, Any]) -> chart.Chart:
    window = chart.window_for(cleaned.get("since"), cleaned.get("until"), timezone.now())
    counts = chart_counts(
        queryset, workspace_id=workspace_id, cleaned=cleaned, start=window.start, end=window.end, unit=window.unit
    )
    return chart.build_chart(chart.fill(window, counts), window)


def _page_context(request: HttpRequest, queryset: Any, cleaned: dict[str, Any]) -> dict[str, Any]:
    page = log_page(
        queryset,
        before=_cursor(request.GET, "before"),
        after=_cursor(request.GET, "after"),
        size=PAGE_SIZE,
        since=cleaned.get("since"),
        until=cleaned.get("until"),
    )
    here = request.path
    return {
        "page": page,
        "newer_url": page.newer_cursor and f"{here}?{filter_query(request.GET, after=page.newer_cursor)}",
        "older_url": page.older_cursor and f"{here}?{filter_query(request.GET, before=page.older_cursor)}",
        "paged": any(name in request.GET for name in CURSORS),
    }


@login_required
@require_GET
def usage_logs(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The current workspace's logs: the filter form (GET, so the URL carries it), the chart, the
    table and the CSV link."""
    workspace_id = current_membership(request).workspace_id
    logs = logs_for(workspace_id=workspace_id)
    filterset = UsageLogFilter(request.GET, queryset=logs.select_related("api_key"), request=request)
    _prepare_form(filterset.form)
    query = filter_query(request.GET)
    context: dict[str, Any] = {
        "filter": filterset,
        "filtered": any(value for name, value in request.GET.items() if name not in CURSORS),
        "export_url": reverse("api-usage-logs-export") + (f"?{query}" if query else ""),
        "clear_url": request.path,
        "newest_url": request.path + (f"?{query}" if query else ""),
    }
    if filterset.is_valid():
        context.update(_page_context(request, filterset.qs, filterset.form.cleaned_data))
        context["chart"] = _chart(filterset.qs, workspace_id, filterset.form.cleaned_data)
        context["has_any"] = bool(context["page"].rows) or bool(read_in_windows(logs, 1, anchor=timezone.now()))
    return render(request, "usagelogs/usage_logs.html", context)
