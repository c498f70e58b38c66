"""OpenAPI description of the API for drf-spectacular: auth schemes, the error envelope, operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from .conf import conf

BEARER, HEADER = "bearerAuth", "apiKeyHeader"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The key goes in ``Authorization: Bearer`` or in ``X-API-Key``: two schemes, either one will do."""

    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = [BEARER, HEADER]

    def get_security_requirement(self, auto_schema):  # type: ignore[no-untyped-def]
        return [{BEARER: []}, {HEADER: []}]

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "kf_<prefix>_<secret>",
                "description": "An API key in `Authorization: Bearer kf_<prefix>_<secret>`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same API key in the `X-API-Key` header.",
            },
        ]


class StrictSerializerScheme(OpenApiSerializerExtension):
    """Request bodies refuse unknown fields (UNKNOWN_FIELD), so their schemas say so."""

    target_class = "apikeys.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


class ScopeFieldScheme(OpenApiSerializerFieldExtension):
    """The scopes a request may grant: the built-in ones and the host project's, read when served."""

    target_class = "apikeys.serializers.ScopeField"

    def map_serializer_field(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        return {"type": "string", "enum": sorted(conf.all_scopes)}


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Such as REQUIRED, INVALID_IP or UNKNOWN_FIELD.")
    message = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable UPPER_SNAKE code; the message may change.")
    message = serializers.CharField()
    client_ip = serializers.CharField(
        required=False, allow_null=True, help_text="With IP_NOT_ALLOWED: the client IP as the server saw it."
    )
    # A declared field named "fields", as the error body names it; not Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="With VALIDATION_ERROR: errors by dotted field path, such as allowlist.2.cidr.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error under /api/ has this envelope."""

    error = ErrorDetailSerializer()


AUTH_CODES = ("NOT_AUTHENTICATED", "INVALID_API_KEY", "API_KEY_REVOKED", "API_KEY_EXPIRED")
# What each status means; the codes of an operation are listed in its own description.
_MEANINGS = {
    400: "The request is not valid.",
    401: 'No key, or a key that does not work. Carries `WWW-Authenticate: Bearer realm="api"`.',
    403: "The key may not do this, or the member's role does not allow it.",
    404: "No such object, or one of another workspace.",
    406: "The Accept header asks for a type other than JSON.",
    415: "The body is not JSON.",
    429: "Too many requests; `Retry-After` says when to try again.",
    503: "A service this request needs is briefly unavailable; nothing was changed. Try again.",
}


def error_codes(
    *,
    scoped: bool = True,
    unsafe: bool = False,
    dry_run: bool = False,
    body: bool = False,
    query: bool = False,
    lookup: bool = False,
    cursor: bool = False,
    change: bool = False,
    json: bool = True,
) -> dict[int, tuple[str, ...]]:
    """The error codes an operation can answer, by status.

    ``unsafe``: a write, which a session must send with its CSRF token. ``dry_run``: an unsafe
    method that changes nothing, so every role may call it. ``body`` and ``query``: input
    that may be invalid. ``lookup``: an id in the path. ``cursor``: cursor pagination, whose bad
    cursor is ``NOT_FOUND``. ``change``: a write that must reach the shared cache. ``json``: the
    answer is JSON, so an Accept header that excludes it is refused.
    """
    codes: dict[int, tuple[str, ...]] = {401: AUTH_CODES}
    # A write is also refused when the caller's role in the workspace does not allow it (SPEC §13).
    codes[403] = (
        ("IP_NOT_ALLOWED",)
        + (("INSUFFICIENT_SCOPE",) if scoped else ())
        + (("INSUFFICIENT_ROLE",) if unsafe and not dry_run else ())
        + (("PERMISSION_DENIED",) if unsafe else ())
    )
    if body or query:
        codes[400] = ("VALIDATION_ERROR",) + (("MALFORMED_REQUEST",) if body else ())
    if lookup or cursor:
        codes[404] = ("NOT_FOUND",)
    if json:
        codes[406] = ("NOT_ACCEPTABLE",)
    if body:
        codes[415] = ("UNSUPPORTED_MEDIA_TYPE",)
    # A key's own rate limit and monthly quota (SPEC §18), and a host project's DRF throttles.
    codes[429] = ("RATE_LIMITED", "QUOTA_EXCEEDED")
    codes[503] = (("CACHE_UNAVAILABLE",) if change else ()) + ("SERVICE_UNAVAILABLE", "RATE_LIMIT_UNAVAILABLE")
    return dict(sorted(codes.items()))


_EXAMPLES: dict[str, dict[str, Any]] = {
    "VALIDATION_ERROR": {
        "message": "The request is not valid.",
        "fields": {
            "allowlist.0.cidr": [
                {"code": "HOST_BITS_SET", "message": "203.0.113.5/24 has host bits set. Did you mean 203.0.113.0/24?"}
            ]
        },
    },
    "NOT_AUTHENTICATED": {"message": "Authentication credentials were not provided."},
    "IP_NOT_ALLOWED": {
        "message": "Requests from 198.51.100.7 are not allowed for this API key.",
        "client_ip": "198.51.100.7",
    },
    "NOT_FOUND": {"message": "Not found."},
    "RATE_LIMITED": {"message": "This API key is limited to 100 requests per minute."},
}


def _error_response(status: int, codes: tuple[str, ...], fields: tuple[str, ...]) -> OpenApiResponse:
    listed = ", ".join(f"`{code}`" for code in codes)
    description = f"{_MEANINGS[status]} Codes: {listed}."
    if fields:
        description += " Field codes: " + ", ".join(f"`{code}`" for code in fields) + "."
    example = {"error": {"code": codes[0], **_EXAMPLES.get(codes[0], {"message": _MEANINGS[status]})}}
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description,
        examples=[OpenApiExample(codes[0], value=example, status_codes=[str(status)])],
    )


_HEADERS = [
    OpenApiParameter(
        "WWW-Authenticate",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[401],
        description='Always `Bearer realm="api"`.',
    ),
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[429],
        description="Seconds to wait before trying again.",
    ),
    *(
        OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.HEADER, response=True, description=description)
        for name, description in (
            ("RateLimit-Limit", "For a key with a rate limit: its N requests; with only a monthly quota: the quota."),
            ("RateLimit-Remaining", "What is left after this request, of the rate limit or else the quota."),
            ("RateLimit-Reset", "Seconds until the rate limit frees a request (the quota: until next month, UTC)."),
        )
    ),
]


def api_operation(
    *,
    operation_id: str,
    summary: str,
    description: str,
    scope: str | None,
    responses: dict[Any, Any],
    errors: dict[int, tuple[str, ...]],
    field_codes: tuple[str, ...] = (),
    **extra: Any,
) -> Callable[[Any], Any]:
    """``extend_schema`` for one operation: what it does, the scope it needs, and its errors."""
    if scope:
        needs = f"Required scope: `{scope}`. A signed-in browser session may call it too."
    else:
        needs = "No scope is required: any valid key, or a signed-in browser session."
    # Errors are JSON whatever the operation's own media type (the export's is CSV).
    documented = {
        (status, "application/json"): _error_response(status, codes, field_codes if status == 400 else ())
        for status, codes in errors.items()
    }
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=f"{description}\n\n{needs}",
        responses={**responses, **documented},
        parameters=[*_HEADERS, *extra.pop("parameters", [])],
        **extra,
    )


# Field codes of VALIDATION_ERROR, by request body.
KEY_FIELD_CODES = (
    "REQUIRED",
    "BLANK",
    "MAX_LENGTH",
    "INVALID",
    "NULL",
    "INVALID_CHOICE",
    "UNKNOWN_FIELD",
    "INVALID_SCOPE",
    "SCOPE_NOT_HELD",
    "EXPIRY_TOO_LATE",
    "INVALID_RATE_LIMIT",
    "INVALID_QUOTA",
)
ENTRY_FIELD_CODES = (
    "INVALID_IP",
    "PREFIX_TOO_BROAD",
    "HOST_BITS_SET",
    "DUPLICATE_ENTRY",
    "TOO_MANY_ENTRIES",
    "LABEL_TOO_LONG",
    "INVALID_LABEL",
    "INVALID_WINDOW",
)
# For a whole allowlist; ALLOWLIST_REQUIRED where the workspace's policies require entries (SPEC §14).
LIST_FIELD_CODES = ("INVALID_ENTRY", "INVALID_ENTRIES", "ALLOWLIST_REQUIRED")
CREATE_EXAMPLE = OpenApiExample(
    "A key for deploys from one office",
    request_only=True,
    value={
        "name": "deploy",
        "description": "CI deploys",
        "scopes": ["keys:read"],
        "allowlist": [{"cidr": "203.0.113.0/24", "label": "office"}],
        "allowlist_mode": "enforce",
        "expires_at": None,
    },
)
