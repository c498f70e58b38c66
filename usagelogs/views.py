"""Settings > Developer > API Usage Logs page."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .filters import UsageLogFilter
from .selectors import logs_for


@login_required
def usage_logs(request: HttpRequest) -> HttpResponse:
    filterset = UsageLogFilter(request.GET, queryset=logs_for(owner_id=request.user.pk), request=request)
    rows = filterset.qs[:50] if filterset.is_valid() else []
    return render(request, "usagelogs/usage_logs.html", {"filter": filterset, "rows": rows})
