"""The JSON error envelope for everything under the API prefix.

Every error reads ``{"error": {"code", "message", ...}}``; validation errors add ``fields``, a map
from a dotted field path to a list of ``{"code", "message"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.fields import get_error_detail

from workspaces.access import RoleDenied

from .context import key_context

logger = logging.getLogger("keyfence.errors")

NOT_FOUND = "NOT_FOUND"
VALIDATION_ERROR = "VALIDATION_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

_CODES = {
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.AuthenticationFailed: "INVALID_API_KEY",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: NOT_FOUND,
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.Throttled: "RATE_LIMITED",
    exceptions.ParseError: "MALFORMED_REQUEST",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
}
_MESSAGES = {
    NOT_FOUND: "Not found.",
    "BAD_REQUEST": "The request could not be read; it may be too large.",
    "SERVER_ERROR": "The server failed to handle this request.",
    SERVICE_UNAVAILABLE: "The service cannot reach its database just now. Try again in a moment.",
}


class ApiError(exceptions.APIException):
    """An API error with a stable code and optional extra members for the envelope."""

    def __init__(self, code: str, message: str, status_code: int, **extra: Any) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.extra = extra


class CacheUnavailable(ApiError):
    """A change could not be announced to the shared cache, so it was not applied at all."""

    def __init__(self) -> None:
        super().__init__(
            "CACHE_UNAVAILABLE",
            "The change was not applied: the shared cache cannot be reached to tell every server. Try again.",
            503,
        )


class ServiceUnavailable(ApiError):
    """The database cannot be reached: a passing outage, not a fault in the request or the code."""

    def __init__(self) -> None:
        super().__init__(SERVICE_UNAVAILABLE, _MESSAGES[SERVICE_UNAVAILABLE], 503)


def is_database_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot be reached (connection refused, lost, closed)."""
    return isinstance(exc, (OperationalError, InterfaceError))


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def flatten_errors(detail: Any, path: str = "") -> dict[str, list[dict[str, str]]]:
    """Turn DRF's nested error detail into ``{"entries.2.cidr": [{"code", "message"}]}``."""
    fields: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            name = "non_field_errors" if name == "non_field_errors" and not path else name
            for key, errors in flatten_errors(value, f"{path}.{name}" if path else str(name)).items():
                fields.setdefault(key, []).extend(errors)
    elif isinstance(detail, list) and detail and all(isinstance(item, exceptions.ErrorDetail) for item in detail):
        fields[path or "non_field_errors"] = [{"code": str(item.code).upper(), "message": str(item)} for item in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                for key, errors in flatten_errors(value, f"{path}.{index}" if path else str(index)).items():
                    fields.setdefault(key, []).extend(errors)
    elif isinstance(detail, exceptions.ErrorDetail):
        fields[path or "non_field_errors"] = [{"code": str(detail.code).upper(), "message": str(detail)}]
    return fields


_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse | None:
    """DRF's exception handler, answering in the envelope and noting the code for the log."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RoleDenied):
        exc = ApiError(RoleDenied.code, exc.message, 403)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # A service's ValidationError, with dotted keys and codes, as DRF carries it.
        exc = exceptions.ValidationError(get_error_detail(exc))
    elif is_database_outage(exc):
        logger.error("Database unavailable: %s", exc)
        exc = ServiceUnavailable()
    if not isinstance(exc, exceptions.APIException):
        return None
    # Set by APIView on authentication failures, and by Throttled; APIException declares neither.
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(VALIDATION_ERROR, "The request is not valid.", fields=flatten_errors(exc.detail))
    else:
        code = _code_for(exc)
        body = error_body(code, _MESSAGES.get(code, str(exc.detail)), **getattr(exc, "extra", {}))
    request = context.get("request")
    if request is not None:
        key_context(request).error_code = body["error"]["code"]
    # Imported here: rest_framework.views loads the authentication classes, which import this module.
    from rest_framework.views import set_rollback

    set_rollback()
    # Errors are always JSON, whatever the client asked for: a plain response skips content
    # negotiation and the renderer, which refusals would otherwise pay for on every request.
    response = JsonResponse(body, status=exc.status_code, headers=headers, json_dumps_params=_COMPACT)
    # The usage log records every API error with its code; Django's request logger would
    # repeat each refused request on stderr.
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag, not in the stubs
    return response


def _code_for(exc: exceptions.APIException) -> str:
    detail_code = getattr(exc.detail, "code", None)
    if isinstance(detail_code, str) and detail_code.isupper():
        return detail_code
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return "ERROR"


def json_error_response(request: HttpRequest, code: str, status_code: int) -> JsonResponse:
    """An envelope response for errors raised outside DRF views (unknown URLs, crashes)."""
    key_context(request).error_code = code
    return JsonResponse(error_body(code, _MESSAGES.get(code, code)), status=status_code, json_dumps_params=_COMPACT)
