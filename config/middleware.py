"""Project middleware."""

from __future__ import annotations

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from apikeys.client_ip import peer_is_trusted_proxy
from apikeys.errors import CacheUnavailable

FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


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


class TrustedProxySchemeMiddleware:
    """Take the request's scheme from ``X-Forwarded-Proto``, but only from a trusted proxy.

    Behind a proxy that ends TLS the app server sees plain http, so Django would build http
    URLs and refuse the browser's https ``Origin`` on every form post. Django's own
    ``SECURE_PROXY_SSL_HEADER`` believes the header from anyone; this believes it only when the
    peer is in ``KEYFENCE_TRUSTED_PROXIES``, the same rule that governs the client IP.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        proto = meta.get(FORWARDED_PROTO)
        if proto and peer_is_trusted_proxy(meta):
            # The first value is the scheme the client used; later ones are hops between proxies.
            scheme = proto.split(",", 1)[0].strip().lower()
            if scheme in ("http", "https"):
                meta["wsgi.url_scheme"] = scheme
        return self.get_response(request)
