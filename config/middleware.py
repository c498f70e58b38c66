"""Project middleware."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from csp.middleware import CSPMiddleware


class DocumentCSPMiddleware(CSPMiddleware):
    """Send the Content-Security-Policy with HTML documents only.

    A policy governs what a rendered page may load; JSON and CSV answers render nothing, and
    building the header for each of them would cost every API request for no protection.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
