"""Every usage-log filter is served by an index, on SQLite and on PostgreSQL.

The queries are the ones the API, the page and the CSV run: the workspace's rows, one filter, newest
first, one cursor page. The table gets a few thousand varied rows and fresh statistics, so the
planners choose as they would on a real table.
"""

import json
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.usagelogs.helpers import personal, session_request
from usagelogs.filters import UsageLogFilter
from usagelogs.models import UsageLog
from usagelogs.recorder import insert_rows
from usagelogs.selectors import blocked_ips_for, logs_for

pytestmark = pytest.mark.django_db
ROWS = 20_000


@pytest.fixture
def logs(user, other_user, make_key):
    """Realistic proportions: most requests are reads that succeed, from a key's usual address."""
    keys = [make_key(user, name=f"key {n}")[0] for n in range(10)] + [make_key(other_user)[0]]
    now, rng = timezone.now(), random.Random(7)
    rows = []
    for n in range(ROWS):
        key = rng.choice(keys)
        status = rng.choices([200, 201, 204, 400, 401, 403, 404, 500], [80, 5, 3, 3, 3, 2, 3, 1])[0]
        address = rng.randrange(2) if rng.random() < 0.95 else rng.randrange(2, 250)
        decision = rng.choices(["allowed", "unrestricted", "would_block"], [60, 39, 1])[0]
        rows.append(
            {
                "timestamp": now - timedelta(minutes=(ROWS - n) * 7),
                "workspace_id": key.workspace_id,
                "api_key_id": key.pk,
                "key_prefix": key.prefix,
                "method": rng.choices(["GET", "POST", "PATCH", "DELETE"], [85, 8, 5, 2])[0],
                "path": "/api/v1/keys",
                "status_code": status,
                "client_ip": f"198.51.100.{address}",
                "client_ip_key": f"4:c63364{address:02x}",
                "decision": "blocked" if status == 403 else decision,
            }
        )
    insert_rows(rows)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(UsageLog._meta.db_table)}")
    return keys


def plan_of(params, user):
    request = session_request(user)
    filterset = UsageLogFilter(params, queryset=logs_for(workspace_id=personal(user).pk), request=request)
    assert filterset.is_valid(), filterset.errors
    queryset = filterset.qs
    if connection.vendor == "postgresql":
        # On a small table PostgreSQL rightly prefers a sequential scan; forbidding it shows
        # whether an index can serve the filter. SET LOCAL ends with the test's transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        return postgres_index_scans(json.loads(queryset.explain(format="json")))
    return sqlite_index_scans(queryset.explain())


def postgres_index_scans(plan):
    """(index name, index condition) of each index scan; a sequential scan fails the test."""
    scans, nodes = [], [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        assert node["Node Type"] != "Seq Scan", node
        if "Index Name" in node:
            scans.append((node["Index Name"], node.get("Index Cond", "")))
        nodes.extend(node.get("Plans", []))
    return scans


def sqlite_index_scans(plan):
    """(index name, index condition) of each search; a full table scan fails the test."""
    scans = []
    for line in plan.splitlines():
        detail = line.split(" ", 3)[-1]
        assert not detail.startswith("SCAN usagelogs_usagelog"), plan
        if detail.startswith("SEARCH usagelogs_usagelog USING") and " INDEX " in detail:
            name, _, condition = detail.split(" INDEX ", 1)[1].partition(" ")
            scans.append((name, condition))
    return scans


FILTERS = {
    "api_key": (lambda keys: {"api_key": str(keys[0].pk)}, "api_key_id"),
    "method": (lambda keys: {"method": "DELETE"}, "method"),
    "status_code": (lambda keys: {"status_code": "404"}, "status_code"),
    "status_class": (lambda keys: {"status_code": "5xx"}, "status_code"),
    "decision": (lambda keys: {"decision": "would_block"}, "decision"),
    "blocked_only": (lambda keys: {"blocked": "true"}, "decision"),
    "since": (lambda keys: {"since": (timezone.now() - timedelta(days=3)).isoformat()}, "timestamp"),
    "until": (lambda keys: {"until": (timezone.now() - timedelta(days=95)).isoformat()}, "timestamp"),
    "client_ip": (lambda keys: {"client_ip": "198.51.100.128/25"}, "client_ip_key"),
    "api_key_and_status": (lambda keys: {"api_key": str(keys[1].pk), "status_code": "403"}, "status_code"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_the_filter_is_an_index_condition(name, logs, user):
    params, column = FILTERS[name]
    scans = plan_of(params(logs), user)
    assert scans, "no index used"
    assert any(column in condition for _, condition in scans), scans


def test_recently_blocked_addresses_of_a_key_use_an_index(logs, user):
    """The allowlist page's "Recently blocked IPs": one key's blocked rows of the last 7 days."""
    since = timezone.now() - timedelta(days=7)
    workspace_id = logs[0].workspace_id
    assert blocked_ips_for(workspace_id=workspace_id, key_id=logs[0].pk, since=since)
    # The selector's filter, which it then groups by address.
    rows = UsageLog.objects.filter(
        workspace_id=workspace_id, api_key_id=logs[0].pk, timestamp__gte=since, decision__in=["blocked", "would_block"]
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        scans = postgres_index_scans(json.loads(rows.explain(format="json")))
    else:
        scans = sqlite_index_scans(rows.explain())
    # The key's rows by decision, or the key's rows of the last week: either is an index range.
    assert any(
        "api_key_id" in condition and ("decision" in condition or "timestamp" in condition) for _, condition in scans
    ), scans
