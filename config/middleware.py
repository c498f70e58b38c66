"""Project middleware."""
from __future__ import annotations

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from apikeys.errors import CacheUnavailable


class DocumentCSPMiddleware(CSPMiddleware):
    """Send the Content-Security-Policy with HTML documents only.

    A policy governs what a rendered page may load; JSON and CSV answers render nothing, and
    building the header for each of them would cost every API request for no protection.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)


class CacheUnavailablePageMiddleware:
    """Answer a page whose change the shared cache refused with a 503 that says so.

    The API answers such changes itself, in its JSON envelope; this covers the settings pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, CacheUnavailable):
            return None
        return render(request, "503.html", {"message": str(exception.detail)}, status=503)
