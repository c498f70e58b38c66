"""The OpenAPI schema at /api/v1/schema describes the API as it behaves: types, enums, auth, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from apikeys.conf import BUILTIN_SCOPES
from apikeys.networks import normalize_cidr

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def schema(api: Any) -> dict[str, Any]:
    response = api().get("/api/v1/schema?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """``{operationId: (path, method, operation)}``."""
    return {
        op["operationId"]: (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node or ("allOf" in node and len(node["allOf"]) == 1):
        node = node["allOf"][0] if "allOf" in node else node
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p["name"] == name)


def request_schema(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    return resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])


# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------


def test_both_key_headers_are_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["apiKeyHeader"]["description"],
    }
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    for operation_id, (_, _, operation) in operations(schema).items():
        if operation_id in SIGNED_BY_OTHERS:
            assert operation.get("security", []) in ([], [{}]), operation_id
            continue
        # Alternatives, not both at once.
        assert {"bearerAuth": []} in operation["security"], operation_id
        assert {"apiKeyHeader": []} in operation["security"], operation_id


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_each_scheme_authenticates(user, make_key, api, header):
    _, secret = make_key(user)
    response = api(secret, header=header).get("/api/v1/keys")
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------------
# Error responses, by operation
# ---------------------------------------------------------------------------------------------

AUTH = {"NOT_AUTHENTICATED", "INVALID_API_KEY", "API_KEY_REVOKED", "API_KEY_EXPIRED"}
ERRORS = {
    # operation: statuses it can answer with an error (besides 401, 429 and 503, which all can)
    "whoami": {403, 406},
    "keys_list": {403, 406},
    "keys_create": {400, 403, 406, 415},
    "keys_retrieve": {403, 404, 406},
    "keys_update": {400, 403, 404, 406, 415},
    "keys_revoke": {403, 404, 406},
    "keys_roll": {400, 403, 404, 406, 415},
    "keys_events": {403, 404, 406},
    "workspace_events": {403, 404, 406},
    "allowlist_retrieve": {403, 404, 406},
    "allowlist_replace": {400, 403, 404, 406, 415},
    "allowlist_add": {400, 403, 404, 406, 415},
    "allowlist_entry_update": {400, 403, 404, 406, 415},
    "allowlist_entry_remove": {400, 403, 404, 406},
    "allowlist_suggestions": {400, 403, 404, 406},
    "allowlist_simulate": {400, 403, 404, 406, 415},
    "usage_logs_list": {400, 403, 404, 406},
    "usage_logs_export": {400, 403},
    "workspace_retrieve": {403, 406},
    "members_list": {403, 406},
    "members_create": {400, 403, 406, 415},
    "members_retrieve": {403, 404, 406},
    "members_update": {400, 403, 404, 406, 415},
    "members_destroy": {400, 403, 404, 406},
    "policies_retrieve": {403, 406},
    "policies_update": {400, 403, 406, 415},
    "webhooks_list": {403, 406},
    "webhooks_create": {400, 403, 406, 415},
    "webhooks_update": {400, 403, 404, 406, 415},
    "webhooks_destroy": {403, 404, 406},
    "webhooks_deliveries": {403, 404, 406},
    "webhooks_delivery_resend": {403, 404, 406},
}
# Operations any valid key may call, whatever its scopes.
SCOPELESS = {"whoami", "workspace_retrieve"}
CHANGES = {
    "keys_update",
    "keys_revoke",
    "keys_roll",
    "allowlist_replace",
    "allowlist_add",
    "allowlist_entry_update",
    "allowlist_entry_remove",
}

# POSTs that change nothing: any role may send them, so no INSUFFICIENT_ROLE (SPEC §15).
DRY_RUNS = {"allowlist_simulate"}


# Operations that no Keyfence key calls: GitHub signs its secret-scanning reports (SPEC §17).
SIGNED_BY_OTHERS = {"secret_scanning_github"}


def test_every_operation_is_listed_here(schema):
    assert set(operations(schema)) == set(ERRORS) | SIGNED_BY_OTHERS


def test_the_secret_scanning_endpoint_documents_its_signature_and_codes(schema):
    _, _, operation = operations(schema)["secret_scanning_github"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert {"Github-Public-Key-Identifier", "Github-Public-Key-Signature"} <= headers
    assert {"200", "400", "401"} <= set(operation["responses"])
    assert "`INVALID_SIGNATURE`" in operation["description"] and "`MALFORMED_REQUEST`" in operation["description"]


@pytest.mark.parametrize("operation_id", sorted(ERRORS))
def test_each_operation_declares_its_own_errors_and_codes(schema, operation_id):
    responses = operations(schema)[operation_id][2]["responses"]
    errors = {int(status) for status in responses if int(status) >= 400}
    assert errors == ERRORS[operation_id] | {401, 429, 503}
    for status in errors:
        content = responses[str(status)]["content"]
        assert resolve(schema, content["application/json"]["schema"]) == component(schema, "Error")
    described = {status: set(re.findall(r"`([A-Z_]+)`", responses[str(status)]["description"])) for status in errors}
    assert described[401] >= AUTH
    assert "RATE_LIMITED" in described[429]
    assert "SERVICE_UNAVAILABLE" in described[503]
    assert ("CACHE_UNAVAILABLE" in described[503]) == (operation_id in CHANGES)
    assert "IP_NOT_ALLOWED" in described[403]
    assert ("INSUFFICIENT_SCOPE" in described[403]) == (operation_id not in SCOPELESS)
    if operation_id in DRY_RUNS:
        assert "INSUFFICIENT_ROLE" not in described[403] and "PERMISSION_DENIED" in described[403]
    if 404 in errors:
        assert "NOT_FOUND" in described[404]
    if 400 in errors:
        assert "VALIDATION_ERROR" in described[400]
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "Retry-After" in responses["429"]["headers"]


def test_error_component_matches_the_envelope(schema, api):
    error = component(schema, "Error")
    detail = resolve(schema, error["properties"]["error"])
    assert set(detail["required"]) == {"code", "message"}
    assert {"code", "message", "client_ip", "fields"} <= set(detail["properties"])
    body = api().get("/api/v1/keys").json()
    assert set(body) == set(error["required"]) and set(body["error"]) <= set(detail["properties"])


# ---------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------


def test_request_bodies_refuse_unknown_fields(schema):
    bodies = [
        (op_id, request_schema(schema, op))
        for op_id, (_, _, op) in operations(schema).items()
        if "requestBody" in op and op_id not in SIGNED_BY_OTHERS
    ]
    assert len(bodies) == 12
    for operation_id, body in bodies:
        assert body["additionalProperties"] is False, operation_id
    for name in ("KeyCreateRequest", "AllowlistReplaceRequest"):
        entries = component(schema, name)["properties"]["allowlist" if name == "KeyCreateRequest" else "entries"]
        assert resolve(schema, entries["items"])["additionalProperties"] is False


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("post", "/api/v1/keys", {"name": "x", "colour": "red"}, id="keys_create"),
        pytest.param(
            "post", "/api/v1/keys/{key}/allowlist", {"cidr": "203.0.113.5", "colour": "red"}, id="allowlist_add"
        ),
    ],
)
def test_unknown_fields_are_refused_as_documented(user, make_key, api, method, path, body):
    key, secret = make_key(user)
    response = getattr(api(secret), method)(path.format(key=key.pk), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["colour"][0]["code"] == "UNKNOWN_FIELD"


def test_scopes_are_typed(schema):
    for name in ("ApiKey", "WhoamiKey"):
        scopes = component(schema, name)["properties"]["scopes"]
        assert scopes["type"] == "array" and scopes["items"]["type"] == "string"
    for name in ("KeyCreateRequest", "PatchedKeyUpdateRequest"):
        items = resolve(schema, component(schema, name)["properties"]["scopes"]["items"])
        assert items["type"] == "string" and set(items["enum"]) == set(BUILTIN_SCOPES)


def test_scopes_enum_includes_the_host_projects_scopes(api):
    with override_settings(KEYFENCE_SCOPES={"orders:read": "Read orders"}):
        schema = api().get("/api/v1/schema?format=json").json()
    items = resolve(schema, component(schema, "KeyCreateRequest")["properties"]["scopes"]["items"])
    assert "orders:read" in items["enum"]


@pytest.mark.parametrize(
    ("name", "field", "values"),
    [
        ("Allowlist", "mode", {"enforce", "report"}),
        ("AllowlistReplaceRequest", "mode", {"enforce", "report"}),
        ("ApiKey", "allowlist_mode", {"enforce", "report"}),
        ("ApiKey", "status", {"active", "revoked", "expired"}),
        ("WhoamiKey", "allowlist_mode", {"enforce", "report"}),
        ("UsageLog", "decision", {"unrestricted", "allowed", "blocked", "would_block", "none"}),
    ],
)
def test_enums(schema, name, field, values):
    assert set(resolve(schema, component(schema, name)["properties"][field])["enum"]) == values


def test_a_revoked_key_has_a_status_of_the_enum(schema, user, make_key, api):
    statuses = set(resolve(schema, component(schema, "ApiKey")["properties"]["status"])["enum"])
    _, secret = make_key(user)
    victim, _ = make_key(user, name="victim")
    client = api(secret)
    assert client.delete(f"/api/v1/keys/{victim.pk}").status_code == 204
    listed = {body["status"] for body in client.get("/api/v1/keys").json()}
    assert listed == {"active", "revoked"} and listed <= statuses


def test_every_cidr_example_is_accepted(schema):
    for name in ("EntryInputRequest", "EntryCreateRequest", "PatchedEntryUpdateRequest"):
        assert normalize_cidr(component(schema, name)["properties"]["cidr"]["example"])


def test_the_create_example_creates_a_key(schema, user, make_key, api):
    _, secret = make_key(user)
    operation = operations(schema)["keys_create"][2]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    for example in examples.values():
        response = api(secret).post("/api/v1/keys", example["value"], format="json")
        assert response.status_code == 201, response.content
        assert response.json()["allowlist"][0]["cidr"] == "203.0.113.0/24"


# ---------------------------------------------------------------------------------------------
# Summaries, descriptions and scopes
# ---------------------------------------------------------------------------------------------


def test_each_operation_says_what_it_does(schema):
    ops = operations(schema)
    summaries = [op["summary"] for _, _, op in ops.values()]
    descriptions = [op["description"] for _, _, op in ops.values()]
    assert all(summaries) and len(set(summaries)) == len(ops)
    assert len(set(descriptions)) == len(ops)
    assert not any("APIView" in text for text in descriptions)


@pytest.fixture
def scopeless(user: Any, make_key: Any, api: Any) -> tuple[Any, Any, Any]:
    target, _ = make_key(user, name="target", allow=["203.0.113.0/24"])
    _, secret = make_key(user, name="no scopes", scopes=[])
    return target, target.entries.get(), api(secret)


def test_each_operation_names_the_scope_it_enforces(schema, scopeless):
    target, entry, client = scopeless
    for operation_id, (path, method, operation) in operations(schema).items():
        if operation_id in SIGNED_BY_OTHERS:
            continue
        url = path.format(
            key_id=target.pk,
            entry_id=entry.pk,
            member_id=target.workspace.memberships.get().pk,
            # Scopes are checked before any lookup: ids that name nothing will do.
            endpoint_id=uuid.uuid4(),
            delivery_id=uuid.uuid4(),
        )
        response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
        documented = re.search(r"Required scope: `([a-z:]+)`", operation["description"])
        if documented is None:
            assert "No scope is required" in operation["description"], operation_id
            assert response.status_code == 200, operation_id
            continue
        assert response.status_code == 403, operation_id
        error = response.json()["error"]
        assert error["code"] == "INSUFFICIENT_SCOPE", operation_id
        assert error["message"].endswith(f"lacks the scope {documented.group(1)}."), operation_id


# ---------------------------------------------------------------------------------------------
# Validity
# ---------------------------------------------------------------------------------------------


def test_the_schema_validates_without_warnings(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "SECRET_KEY": "x",
        "ALLOWED_HOSTS": "x",
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(tmp_path / "schema.yaml"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr
