"""Keyfence URLs: the settings pages, the REST API under /api/v1, its docs, and the admin."""
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apikeys.errors import json_error_response

api_v1 = [
    path("", include("apikeys.urls")),
    path("", include("usagelogs.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("schema/", SpectacularAPIView.as_view()),
    # The split view serves its start-up script as a file, which a strict CSP allows.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("apikeys.web_urls")),
    path("", include("usagelogs.web_urls")),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, "NOT_FOUND", 404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, "SERVER_ERROR", 500)
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, "BAD_REQUEST", 400)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, "PERMISSION_DENIED", 403)
    return defaults.permission_denied(request, exception)

