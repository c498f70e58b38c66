"""Usage logs through the API: what is recorded, the filters, cursor pagination and the CSV."""

import csv
import io
import re

import pytest

from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db
HEADER = (
    "timestamp,key_name,key_prefix,method,path,status_code,client_ip,decision,error_code,response_time_ms,user_agent"
)


@pytest.fixture
def traffic(user, make_key, api):
    key, secret = make_key(user, name="logs key", allow=["203.0.113.0/24"])
    api(secret, ip="203.0.113.7").get("/api/v1/whoami?token=abc", HTTP_USER_AGENT="curl/8")
    api(secret, ip="198.51.100.9").get("/api/v1/whoami")
    api(secret, ip="203.0.113.7").post("/api/v1/keys", {"name": ""}, format="json")
    api(secret, ip="203.0.113.7").get("/api/v1/missing")
    return key, api(secret, ip="203.0.113.7")


def test_every_api_request_is_recorded_without_query_or_secret(traffic):
    key, _ = traffic
    rows = list(UsageLog.objects.order_by("id"))
    assert [(r.method, r.path, r.status_code, r.decision, r.error_code) for r in rows] == [
        ("GET", "/api/v1/whoami", 200, "allowed", ""),
        ("GET", "/api/v1/whoami", 403, "blocked", "IP_NOT_ALLOWED"),
        ("POST", "/api/v1/keys", 400, "allowed", "VALIDATION_ERROR"),
        ("GET", "/api/v1/missing", 404, "none", "NOT_FOUND"),
    ]
    assert rows[0].user_agent == "curl/8" and rows[0].matched_cidr == "203.0.113.0/24"
    assert rows[0].matched_entry_id == key.entries.get().pk
    assert rows[3].api_key_id == key.pk and rows[3].workspace_id == key.workspace_id
    assert all(r.key_prefix == key.prefix and r.response_time_ms >= 0 for r in rows)


def test_an_unauthenticated_request_is_recorded_with_no_workspace(api, db):
    api(ip="192.0.2.1").get("/api/v1/keys")
    row = UsageLog.objects.get()
    assert (row.status_code, row.error_code, row.workspace_id, row.decision) == (401, "NOT_AUTHENTICATED", None, "none")


def test_the_schema_and_docs_are_not_recorded(api, db):
    api().get("/api/v1/schema")
    api().get("/api/v1/docs")
    assert UsageLog.objects.count() == 0


@pytest.mark.parametrize(
    "query, expected",
    [
        pytest.param("", 4, id="all"),
        pytest.param("method=POST", 1, id="method"),
        pytest.param("status_code=403", 1, id="status-exact"),
        pytest.param("status_code=4xx", 3, id="status-class"),
        pytest.param("decision=blocked", 1, id="decision"),
        pytest.param("blocked=true", 1, id="blocked-only"),
        pytest.param("client_ip=198.51.100.9", 1, id="ip-exact"),
        pytest.param("client_ip=203.0.113.0/24", 3, id="ip-cidr"),
        pytest.param("client_ip=203.0.113.0/25", 3, id="ip-cidr-ignores-breadth-rules"),
        pytest.param("client_ip=2001:db8::/32", 0, id="ip-v6-cidr"),
        pytest.param("since=2000-01-01T00:00:00Z", 4, id="since"),
        pytest.param("until=2000-01-01T00:00:00Z", 0, id="until"),
    ],
)
def test_filters(traffic, query, expected):
    _, client = traffic
    # A listing is logged after it answers, so it never counts in its own result.
    response = client.get(f"/api/v1/usage-logs?{query}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize(
    "query, field",
    [
        ("status_code=4yy", "status_code"),
        ("status_code=999", "status_code"),
        ("method=TRACE", "method"),
        ("decision=maybe", "decision"),
        ("client_ip=10.0.0.300", "client_ip"),
        ("since=yesterday", "since"),
        ("api_key=not-a-key", "api_key"),
    ],
)
def test_bad_filters_are_400_with_their_field(traffic, query, field):
    _, client = traffic
    response = client.get(f"/api/v1/usage-logs?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_filter_by_key(traffic, user, make_key, api):
    _key, client = traffic
    other, secret = make_key(user, name="second")
    api(secret).get("/api/v1/whoami")
    results = client.get(f"/api/v1/usage-logs?api_key={other.pk}").json()["results"]
    assert [r["key_name"] for r in results] == ["second"]


def test_cursor_pagination_walks_every_row_newest_first(user, make_key, api):
    _, secret = make_key(user)
    client = api(secret)
    for _ in range(7):
        client.get("/api/v1/whoami")
    seen, url = [], "/api/v1/usage-logs?page_size=3&path=ignored"
    while url:
        page = client.get(url).json()
        assert "count" not in page
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) >= 7


def test_csv_export_header_filename_and_filter(traffic):
    _, client = traffic
    response = client.get("/api/v1/usage-logs/export?status_code=4xx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="api-usage-logs-\d{8}-\d{6}\.csv"', response["Content-Disposition"])
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["status_code"] for r in rows) == ["400", "403", "404"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["timestamp"]) for r in rows)


@pytest.mark.parametrize(
    "agent, written",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("curl/8", "curl/8"),
    ],
)
def test_csv_cells_are_neutralised(user, make_key, api, agent, written):
    _, secret = make_key(user)
    client = api(secret)
    client.get("/api/v1/whoami", HTTP_USER_AGENT=agent)
    text = b"".join(client.get("/api/v1/usage-logs/export").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[-1]["user_agent"] == written


def test_bad_export_filter_is_400(traffic):
    _, client = traffic
    assert client.get("/api/v1/usage-logs/export?status_code=abc").status_code == 400


@pytest.mark.parametrize(
    "moment", ["6701-02-09T13:22:28-23:28", "2026-11-28T10:00:00+14:00", "0001-01-01T00:00:00+01:00"]
)
def test_any_offset_python_accepts_is_a_valid_filter(traffic, moment):
    _, client = traffic
    from urllib.parse import quote

    for path in ("/api/v1/usage-logs", "/api/v1/usage-logs/export"):
        response = client.get(f"{path}?since={quote(moment)}")
        assert response.status_code in {200, 400}
        if response.status_code == 400:
            assert response.json()["error"]["fields"]["since"][0]["code"] == "INVALID"
