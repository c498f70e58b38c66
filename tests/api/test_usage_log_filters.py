"""Usage-log filters and the CSV export, as the schema declares them and as the API answers."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api: Any) -> dict[str, Any]:
    response = api().get("/api/v1/schema?format=json")
    assert response.status_code == 200
    return response.json()


def operation(schema: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(
        op
        for item in schema["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    )


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p["name"] == name)


# ---------------------------------------------------------------------------------------------
# Filters of the usage logs
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def logs_client(user: Any, make_key: Any, api: Any) -> Any:
    _, secret = make_key(user, allow=["203.0.113.0/24"])
    client = api(secret, ip="203.0.113.7")
    client.get("/api/v1/whoami")
    api(secret, ip="198.51.100.9").get("/api/v1/whoami")
    client.get("/api/v1/keys/00000000-0000-0000-0000-000000000000")
    assert UsageLog.objects.count() == 3
    return client


@pytest.mark.parametrize("operation_id", ["usage_logs_list", "usage_logs_export"])
def test_status_code_filter_is_a_string_that_takes_a_class(schema, operation_id):
    param = parameter(operation(schema, operation_id), "status_code")
    assert param["schema"]["type"] == "string"
    pattern = re.compile(param["schema"]["pattern"])
    assert all(pattern.search(value) for value in ("4xx", "5XX", "404", "200"))
    assert not any(pattern.search(value) for value in ("4yy", "999", "40", "4045", "x4xx"))


@pytest.mark.parametrize(
    ("query", "count"),
    [
        pytest.param("status_code=4xx", 2, id="class"),
        pytest.param("status_code=403", 1, id="exact"),
    ],
)
def test_status_code_filter_answers_what_the_schema_allows(logs_client, query, count):
    response = logs_client.get(f"/api/v1/usage-logs?{query}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("operation_id", ["usage_logs_list", "usage_logs_export"])
def test_blocked_filter_is_a_boolean(schema, operation_id):
    param = parameter(operation(schema, operation_id), "blocked")
    assert param["schema"]["type"] == "boolean"


@pytest.mark.parametrize(
    ("value", "count"),
    [
        pytest.param("true", 1, id="true"),
        pytest.param("1", 1, id="one"),
        pytest.param("True", 1, id="True"),
        pytest.param("false", 3, id="false"),
        pytest.param("0", 3, id="zero-is-no-filter"),
        pytest.param("", 3, id="empty"),
    ],
)
def test_blocked_filter_true_is_blocked_only_and_false_is_no_filter(logs_client, value, count):
    response = logs_client.get("/api/v1/usage-logs", {"blocked": value})
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


def test_blocked_filter_refuses_other_text(logs_client):
    response = logs_client.get("/api/v1/usage-logs?blocked=maybe")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["blocked"]


def export_decisions(client: Any, query: str) -> list[str]:
    response = client.get(f"/api/v1/usage-logs/export?{query}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [row["decision"] for row in rows]


def test_blocked_filter_of_the_export_follows_the_same_rule(logs_client):
    assert export_decisions(logs_client, "blocked=1") == ["blocked"]
    assert {"allowed", "blocked"} <= set(export_decisions(logs_client, "blocked=0"))


def test_filter_enums(schema):
    listing = operation(schema, "usage_logs_list")
    assert set(parameter(listing, "method")["schema"]["enum"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert set(parameter(listing, "decision")["schema"]["enum"]) == {
        "unrestricted",
        "allowed",
        "blocked",
        "would_block",
        "none",
    }


# ---------------------------------------------------------------------------------------------
# The export
# ---------------------------------------------------------------------------------------------


def test_export_offers_no_format_parameter_and_answers_csv(schema):
    export = operation(schema, "usage_logs_export")
    assert "format" not in {p["name"] for p in export["parameters"]}
    assert list(export["responses"]["200"]["content"]) == ["text/csv"]
    assert list(export["responses"]["401"]["content"]) == ["application/json"]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"format": "json"}, id="format-json"),
        pytest.param({"HTTP_ACCEPT": "application/json"}, id="accept-json"),
    ],
)
def test_export_is_csv_whatever_is_asked(logs_client, extra):
    query = {"format": extra["format"]} if "format" in extra else {}
    headers = {k: v for k, v in extra.items() if k.startswith("HTTP_")}
    response = logs_client.get("/api/v1/usage-logs/export", query, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content).startswith(b"timestamp,key_name,")


def test_export_errors_are_json(api, db):
    response = api().get("/api/v1/usage-logs/export")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
