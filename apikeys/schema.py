"""OpenAPI description of API-key authentication, for drf-spectacular."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "http", "scheme": "bearer", "description": "An API key: kf_<prefix>_<secret>. "
                "It may also be sent in the X-API-Key header."}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "IP_NOT_ALLOWED"},
                "message": {"type": "string"},
                "client_ip": {"type": "string", "nullable": True},
                "fields": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "array",
                        "items": {"type": "object", "required": ["code", "message"],
                                  "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
                    },
                },
            },
        }
    },
}
ERROR_RESPONSES = {
    "400": "Invalid input: VALIDATION_ERROR with fields, or MALFORMED_REQUEST.",
    "401": "NOT_AUTHENTICATED, INVALID_API_KEY, API_KEY_REVOKED or API_KEY_EXPIRED.",
    "403": "IP_NOT_ALLOWED, INSUFFICIENT_SCOPE or PERMISSION_DENIED.",
    "404": "NOT_FOUND, also for other owners' objects.",
    "405": "METHOD_NOT_ALLOWED.",
    "406": "NOT_ACCEPTABLE.",
    "415": "UNSUPPORTED_MEDIA_TYPE.",
}


def add_error_responses(result, generator, request, public):  # type: ignore[no-untyped-def]
    """drf-spectacular hook: document the error envelope on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if path.endswith(("/schema", "/docs")):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(status, {"description": description,
                                              "content": {"application/json": {"schema": reference}}})
    return result
