"""Keyfence URLs: the settings pages, the REST API under /api/v1, its docs, and the admin.

The API's place comes from ``KEYFENCE_API_PREFIX`` (``/api/``), read through the keys app's
settings like everything that must agree on it: the usage log and the error answers.
"""

import re
import sys

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apikeys.conf import conf
from apikeys.errors import SERVICE_UNAVAILABLE, is_database_outage, json_error_response

api_v1: list[URLPattern | URLResolver] = [
    path("", include("apikeys.urls")),
    path("", include("usagelogs.urls")),
    path("", include("notifications.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("schema/", SpectacularAPIView.as_view()),
    # The split view serves its start-up script as a file, which a strict CSP allows.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
]


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Every unknown path under /api/ answers the JSON envelope, also with DEBUG on.

    With DEBUG on, Django answers an unmatched URL with its HTML technical page and never calls
    ``handler404``; a route that matches the rest of /api/ answers before that can happen.
    """
    return json_error_response(request, "NOT_FOUND", 404)


API_ROOT = conf.API_PREFIX.lstrip("/")

urlpatterns = [
    path(f"{API_ROOT}v1/", include(api_v1)),
    re_path(rf"^{re.escape(API_ROOT)}", api_not_found),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("workspaces.urls")),
    path("", include("apikeys.web_urls")),
    path("", include("usagelogs.web_urls")),
    path("", include("notifications.web_urls")),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(conf.API_PREFIX)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, "NOT_FOUND", 404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_database_outage(sys.exc_info()[1]):
        return database_unavailable(request)
    if _is_api(request):
        return json_error_response(request, "SERVER_ERROR", 500)
    return defaults.server_error(request)


DATABASE_UNAVAILABLE_PAGE = {
    "title": "Service unavailable",
    "heading": "Keyfence is briefly unavailable",
    "message": "It cannot reach its database just now. Try again in a moment.",
}


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 while the database cannot be reached: the envelope under /api/, a plain page elsewhere."""
    if _is_api(request):
        return json_error_response(request, SERVICE_UNAVAILABLE, 503)
    # Rendered without the request, so that no context processor reads the user or the session:
    # both live in the database that just failed.
    return HttpResponse(loader.render_to_string("503.html", DATABASE_UNAVAILABLE_PAGE), status=503)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, "BAD_REQUEST", 400)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    code = getattr(exception, "code", "PERMISSION_DENIED")
    if _is_api(request):
        return json_error_response(request, code, 403)
    # The page says why and names the code, as the API would.
    context = {"message": str(exception) or "You are not allowed to do this.", "code": code}
    return render(request, "403.html", context, status=403)
