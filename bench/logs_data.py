"""Fill the usage-log table fast, in SQL, with one workspace's varied traffic over 90 days.

Each call spreads its rows evenly over the whole 90 days, so that the table has the same shape at
every size a benchmark measures (10k, 100k, ... rows, each over 90 days), and adds them to the
hourly rollup as the log writer would. On PostgreSQL the daily partitions of the 90 days are
created first, as the scheduled job would have created them day by day.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

SPAN = timedelta(days=90)
KEYS = 10
COLUMNS = (
    "timestamp, workspace_id, api_key_id, key_prefix, method, path, status_code, client_ip, client_ip_key, "
    "user_agent, error_code, decision, matched_entry_id, matched_cidr, response_time_ms"
)

# One expression per column, over the row number n; the {fields} differ per backend. "%%" is a
# literal "%" for both drivers.
# Every 50th request of each key is a 403 (blocked), every 40th a 404, and so on.
_VALUES = """{ts}, %s, {key}, {prefix},
    CASE WHEN n %% 23 = 0 THEN 'POST' WHEN n %% 41 = 0 THEN 'DELETE' ELSE 'GET' END,
    '/api/v1/whoami',
    CASE WHEN (n / 10) %% 50 = 7 THEN 403 WHEN (n / 10) %% 40 = 3 THEN 404 WHEN n %% 997 = 0 THEN 500 ELSE 200 END,
    {ip}, '4:c63364' || {hex2},
    'python-requests/2.32', CASE WHEN (n / 10) %% 50 = 7 THEN 'IP_NOT_ALLOWED' ELSE '' END,
    CASE WHEN (n / 10) %% 50 = 7 THEN 'blocked' ELSE 'allowed' END, NULL, '198.51.100.0/24', (n %% 97) / 10.0"""


def make_workspace() -> tuple[Any, list[Any]]:
    """A user with :data:`KEYS` keys in their personal workspace; returns the user and the keys."""
    from django.contrib.auth import get_user_model

    from apikeys import services

    user = get_user_model().objects.create_user("logs", "logs@example.com", "not-used-for-anything")
    actor = services.Actor(user_id=user.pk)
    keys = [services.key_create(name=f"logs {k}", actor=actor)[0] for k in range(KEYS)]
    return user, keys


def make_partitions() -> None:
    """PostgreSQL: the daily partitions of the 90 days (and the week ahead)."""
    from django.utils import timezone

    from usagelogs import partitions

    if partitions.is_partitioned():
        day = partitions.day_start(timezone.now() - SPAN)
        while day <= timezone.now():
            partitions.create_day(day)
            day += partitions.DAY


def add_rows(workspace_id: Any, keys: list[Any], first: int, last: int, total: int) -> None:
    """Insert rows ``first`` to ``last - 1``, spread evenly over the 90 days ending now, and count
    them into the hourly rollup (the daily one is the worker's: :func:`usagelogs.daily.seal_days`).
    ``total`` is unused: every batch covers the whole span."""
    from django.db import connection, transaction
    from django.utils import timezone

    # Each batch starts a little later (a few ms), so that its times fall between the earlier ones.
    start = timezone.now() - SPAN + timedelta(microseconds=(first * 7919) % 1_000_000)
    step_ms = SPAN.total_seconds() * 1000 / (last - first)
    if connection.vendor == "postgresql":
        key_array = "ARRAY[" + ", ".join(f"'{k.pk}'" for k in keys) + "]::uuid[]"
        prefix_array = "ARRAY[" + ", ".join(f"'{k.prefix}'" for k in keys) + "]"
        values = _VALUES.format(
            ts=f"%s::timestamptz + (n - {first}) * interval '{step_ms} milliseconds'",
            key=f"({key_array})[1 + n %% {KEYS}]",
            prefix=f"({prefix_array})[1 + n %% {KEYS}]",
            ip="('198.51.100.' || (n %% 250))::inet",
            hex2="lpad(to_hex(n %% 250), 2, '0')",
        )
        sql = f"INSERT INTO usagelogs_usagelog ({COLUMNS}) SELECT {values} FROM generate_series(%s, %s) AS g(n)"
        params = [start, workspace_id, first, last - 1]
    else:
        key_case = "CASE n %% {k} {whens} END".format(
            k=KEYS, whens=" ".join(f"WHEN {i} THEN '{k.pk.hex}'" for i, k in enumerate(keys))
        )
        prefix_case = "CASE n %% {k} {whens} END".format(
            k=KEYS, whens=" ".join(f"WHEN {i} THEN '{k.prefix}'" for i, k in enumerate(keys))
        )
        values = _VALUES.format(
            ts=f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || ((n - {first}) * {step_ms / 1000}) || ' seconds')",
            key=key_case,
            prefix=prefix_case,
            ip="'198.51.100.' || (n %% 250)",
            hex2="printf('%%02x', n %% 250)",
        )
        sql = (
            f"INSERT INTO usagelogs_usagelog ({COLUMNS}) "
            f"WITH RECURSIVE g(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM g WHERE n < %s) SELECT {values} FROM g"
        )
        params = [first, last - 1, start.strftime("%Y-%m-%d %H:%M:%S.%f"), workspace_id.hex]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(id), 0) FROM usagelogs_usagelog")
        (after,) = cursor.fetchone()
        cursor.execute(sql, params)
        cursor.execute(_ROLLUP[connection.vendor], [after])
        # As the writer does for rows of days that have ended: their sealed days are dirty again.
        cursor.execute("UPDATE usagelogs_sealedday SET dirty = %s", [True])
        cursor.execute("ANALYZE usagelogs_usagelog")
    with connection.cursor() as cursor:
        # Each step rewrites every hour of the rollup at once (the writer touches only the current
        # hour): clear the dead versions as autovacuum would, so that reads do not wade through them.
        cursor.execute("VACUUM ANALYZE usagelogs_usagerollup" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "postgresql":
            # Write the fill's dirty pages out now, rather than while the pages are being timed.
            cursor.execute("CHECKPOINT")


# The rows just added, counted into the rollup as the writer's upsert would count them.
_CLASS = "CASE WHEN status_code = 429 THEN '429' ELSE (status_code / 100) || 'xx' END"
_UPSERT = (
    " ON CONFLICT (workspace_id, hour, key_id, decision, status_class) DO UPDATE SET "
    "requests = usagelogs_usagerollup.requests + excluded.requests, "
    "total_response_ms = usagelogs_usagerollup.total_response_ms + excluded.total_response_ms"
)
_ROLLUP = {
    "postgresql": "INSERT INTO usagelogs_usagerollup "
    "(workspace_id, hour, key_id, decision, status_class, requests, total_response_ms) "
    "SELECT workspace_id, date_trunc('hour', timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', "
    f"COALESCE(api_key_id, '00000000-0000-0000-0000-000000000000'), decision, {_CLASS}, count(*), "
    "sum(response_time_ms) FROM usagelogs_usagelog WHERE id > %s AND workspace_id IS NOT NULL "
    f"GROUP BY 1, 2, 3, 4, 5{_UPSERT}",
    "sqlite": "INSERT INTO usagelogs_usagerollup "
    "(workspace_id, hour, key_id, decision, status_class, requests, total_response_ms) "
    "SELECT workspace_id, strftime('%%Y-%%m-%%d %%H:00:00', timestamp), "
    f"COALESCE(api_key_id, '00000000000000000000000000000000'), decision, {_CLASS}, count(*), "
    "sum(response_time_ms) FROM usagelogs_usagelog WHERE id > %s AND workspace_id IS NOT NULL "
    f"GROUP BY 1, 2, 3, 4, 5 HAVING 1{_UPSERT}",
}
