"""Per-key rate limits and monthly quotas (SPEC §18), through the API, with both cache set-ups."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from apikeys import ratelimit, services
from apikeys.models import AuditEvent
from apikeys.ratelimit_counters import QUOTA, RATE, LocalCounter
from apikeys.ratelimit_rules import RateLimit
from apikeys.signals_out import quota_threshold_reached
from usagelogs.models import UsageLog
from workspaces.services import personal_workspace_for

pytestmark = pytest.mark.django_db

WHOAMI = "/api/v1/whoami"


def headers_of(response) -> tuple[str | None, str | None, str | None]:
    return (
        response.headers.get("RateLimit-Limit"),
        response.headers.get("RateLimit-Remaining"),
        response.headers.get("RateLimit-Reset"),
    )


# --- the algorithm, in one process -----------------------------------------------------------------------


def test_gcra_lets_a_burst_of_n_through_then_one_every_period_over_n(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("apikeys.ratelimit_counters.time.monotonic", lambda: clock[0])
    counter = LocalCounter()
    rate = RateLimit(3, "minute")

    first = [counter.hit("k", rate, None, "2026-11") for _ in range(3)]
    assert [r.outcome for r in first] == [0, 0, 0]
    assert [r.remaining for r in first] == [2, 1, 0]
    refused = counter.hit("k", rate, None, "2026-11")
    assert (refused.outcome, refused.remaining, refused.retry_seconds) == (RATE, 0, 20)
    clock[0] += 19.9
    assert counter.hit("k", rate, None, "2026-11").outcome == RATE
    clock[0] += 0.2  # 20 s after the burst, one request is free again, and only one
    assert counter.hit("k", rate, None, "2026-11").outcome == 0
    assert counter.hit("k", rate, None, "2026-11").outcome == RATE
    assert counter.used("k", "2026-11") == 4, "refused requests are not counted"


@pytest.mark.parametrize("seconds", [2941.5291442429996, 1000.0, 123456.789])
def test_rounding_never_refuses_a_request_that_is_due(monkeypatch, seconds):
    monkeypatch.setattr("apikeys.ratelimit_counters.time.monotonic", lambda: seconds)
    counter = LocalCounter()
    assert counter.hit("hourly", RateLimit(1, "hour"), None, "2026-11").outcome == 0
    sevens = [counter.hit("sevens", RateLimit(7, "minute"), None, "2026-11") for _ in range(8)]
    assert [r.remaining for r in sevens] == [6, 5, 4, 3, 2, 1, 0, 0]
    assert sevens[-1].outcome == RATE and sevens[-1].retry_seconds == 9  # 60/7 s, rounded up


def test_the_quota_counts_per_month_and_refuses_the_request_after_the_last():
    counter = LocalCounter()
    assert [counter.hit("k", None, 2, "2026-11").outcome for _ in range(3)] == [0, 0, QUOTA]
    assert counter.hit("k", None, 2, "2026-12").outcome == 0, "a new month starts from zero"


@pytest.mark.parametrize(
    "now, seconds",
    [
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), 1),
        (datetime(2026, 12, 31, 0, 0, tzinfo=UTC), 86400),
        (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), 28 * 86400),
    ],
    ids=["last-second", "december", "february"],
)
def test_a_quota_resets_at_the_start_of_the_next_calendar_month_utc(now, seconds):
    assert ratelimit.seconds_to_next_month(now) == seconds


# --- through the API, per-process memory and Redis -----------------------------------------------------


def test_over_the_rate_limit_answers_429_with_retry_after_and_headers(cache_mode, user, make_key, api):
    key, secret = make_key(user, rate_limit={"requests": 2, "per": "minute"})
    client = api(secret)

    first, second, third = (client.get(WHOAMI) for _ in range(3))

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert headers_of(first)[:2] == ("2", "1")
    assert headers_of(second)[:2] == ("2", "0")
    assert 1 <= int(headers_of(second)[2]) <= 30
    assert third.json()["error"]["code"] == "RATE_LIMITED"
    assert headers_of(third)[:2] == ("2", "0")
    assert 29 <= int(third.headers["Retry-After"]) <= 30
    logged = list(UsageLog.objects.filter(api_key=key).order_by("id").values_list("status_code", "error_code"))
    assert logged == [(200, ""), (200, ""), (429, "RATE_LIMITED")]


def test_over_the_monthly_quota_answers_quota_exceeded_until_next_month(cache_mode, user, make_key, api):
    key, secret = make_key(user, monthly_quota=2)
    client = api(secret)

    answers = [client.get(WHOAMI) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert int(answers[2].headers["Retry-After"]) == pytest.approx(
        ratelimit.seconds_to_next_month(datetime.now(UTC)), abs=5
    )
    assert [headers_of(a)[:2] for a in answers] == [("2", "1"), ("2", "0"), ("2", "0")]
    body = api(secret).get(f"/api/v1/keys/{key.pk}")
    assert body.status_code == 429, "every request of the key counts, the key API's too"


def test_an_unlimited_key_gets_no_headers_and_no_count(cache_mode, user, make_key, api):
    key, secret = make_key(user)
    response = api(secret).get(f"/api/v1/keys/{key.pk}")
    assert response.status_code == 200
    assert headers_of(response) == (None, None, None)
    assert response.json()["monthly_usage"] is None


def test_a_blocked_request_consumes_nothing(cache_mode, user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.0/24"], rate_limit={"requests": 1, "per": "hour"}, monthly_quota=5)

    blocked = [api(secret, ip="198.51.100.9").get(WHOAMI) for _ in range(3)]
    allowed = api(secret, ip="203.0.113.9").get(WHOAMI)
    limited = api(secret, ip="203.0.113.9").get(WHOAMI)

    assert {b.json()["error"]["code"] for b in blocked} == {"IP_NOT_ALLOWED"}
    assert allowed.status_code == 200 and limited.status_code == 429
    assert api(secret, ip="203.0.113.9").get(f"/api/v1/keys/{key.pk}").status_code == 429
    assert ratelimit.monthly_usage([key])[key.pk] == 1


def test_a_bad_key_or_a_session_is_never_counted(user, make_key, api, client):
    key, secret = make_key(user, monthly_quota=1)
    assert api(secret[:-1] + ("A" if secret[-1] != "A" else "B")).get(WHOAMI).status_code == 401
    client.force_login(user)
    assert client.get(f"/api/v1/keys/{key.pk}").status_code == 200
    assert api(secret).get(WHOAMI).status_code == 200
    assert api(secret).get(WHOAMI).json()["error"]["code"] == "QUOTA_EXCEEDED"


def test_the_key_object_shows_its_limits_and_this_months_usage(cache_mode, user, make_key, api):
    key, secret = make_key(user, rate_limit={"requests": 100, "per": "second"}, monthly_quota=1000)
    for _ in range(3):
        api(secret).get(WHOAMI)

    listed = api(secret).get("/api/v1/keys").json()
    one = next(item for item in listed if item["id"] == str(key.pk))

    assert one["rate_limit"] == {"requests": 100, "per": "second"}
    assert one["monthly_quota"] == 1000
    assert one["monthly_usage"] == 4, "the three calls and the list itself"


# --- setting limits --------------------------------------------------------------------------------------


def test_post_and_patch_set_and_remove_limits_each_an_audit_event(cache_mode, user, make_key, api):
    _, admin_secret = make_key(user, name="admin")
    client = api(admin_secret)

    created = client.post(
        "/api/v1/keys",
        {"name": "limited", "rate_limit": {"requests": 5, "per": "hour"}, "monthly_quota": 10},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["rate_limit"], body["monthly_quota"], body["monthly_usage"]) == ({"requests": 5, "per": "hour"}, 10, 0)
    new_secret = body["key"]
    assert headers_of(api(new_secret).get(WHOAMI))[:2] == ("5", "4")

    changed = client.patch(f"/api/v1/keys/{body['id']}", {"rate_limit": None, "monthly_quota": 1}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["rate_limit"], changed.json()["monthly_quota"]) == (None, 1)
    # The next request sees the change at once: the quota of 1 is already used.
    assert api(new_secret).get(WHOAMI).json()["error"]["code"] == "QUOTA_EXCEEDED"

    event = AuditEvent.objects.filter(api_key_id=body["id"], action="key.updated").get()
    assert (event.before["rate_limit"], event.after["rate_limit"]) == ({"requests": 5, "per": "hour"}, None)
    assert (event.before["monthly_quota"], event.after["monthly_quota"]) == (10, 1)
    created_event = AuditEvent.objects.get(api_key_id=body["id"], action="key.created")
    assert created_event.after["monthly_quota"] == 10


BAD_RATE_LIMITS = [
    pytest.param({"requests": 0, "per": "minute"}, id="zero"),
    pytest.param({"requests": -5, "per": "minute"}, id="negative"),
    pytest.param({"requests": 1.5, "per": "minute"}, id="fraction"),
    pytest.param({"requests": "10", "per": "minute"}, id="text"),
    pytest.param({"requests": True, "per": "minute"}, id="bool"),
    pytest.param({"requests": 1_000_001, "per": "minute"}, id="too-many"),
    pytest.param({"requests": 10, "per": "day"}, id="unknown-per"),
    pytest.param({"requests": 10}, id="no-per"),
    pytest.param({"requests": 10, "per": "minute", "burst": 5}, id="extra-field"),
    pytest.param("10/minute", id="a-string"),
    pytest.param([10, "minute"], id="a-list"),
]


@pytest.mark.parametrize("value", BAD_RATE_LIMITS)
def test_a_bad_rate_limit_is_invalid_rate_limit(user, make_key, api, value):
    key, secret = make_key(user)
    for response in (
        api(secret).post("/api/v1/keys", {"name": "x", "rate_limit": value}, format="json"),
        api(secret).patch(f"/api/v1/keys/{key.pk}", {"rate_limit": value}, format="json"),
    ):
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["rate_limit"][0]["code"] == "INVALID_RATE_LIMIT"


@pytest.mark.parametrize(
    "value",
    [0, -1, 2.5, "100", True, 10**12 + 1, {"n": 1}],
    ids=["zero", "negative", "fraction", "text", "bool", "above-10^12", "object"],
)
def test_a_bad_quota_is_invalid_quota(user, make_key, api, value):
    key, secret = make_key(user)
    response = api(secret).patch(f"/api/v1/keys/{key.pk}", {"monthly_quota": value}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["monthly_quota"][0]["code"] == "INVALID_QUOTA"
    key.refresh_from_db()
    assert key.monthly_quota is None


def test_the_largest_values_are_accepted(user, make_key, api):
    key, secret = make_key(user)
    response = api(secret).patch(
        f"/api/v1/keys/{key.pk}",
        {"rate_limit": {"requests": 1_000_000, "per": "second"}, "monthly_quota": 10**12},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["monthly_quota"] == 10**12


def test_the_workspace_default_rate_limit_applies_to_new_keys_that_set_none(user, make_key, api):
    _, secret = make_key(user)
    actor = services.Actor(user_id=user.pk)
    workspace_id = personal_workspace_for(user_id=user.pk).pk
    services.policy_update(workspace_id=workspace_id, actor=actor, default_rate_limit={"requests": 7, "per": "second"})

    default = api(secret).post("/api/v1/keys", {"name": "default"}, format="json").json()
    none = api(secret).post("/api/v1/keys", {"name": "none", "rate_limit": None}, format="json").json()
    own = (
        api(secret)
        .post("/api/v1/keys", {"name": "own", "rate_limit": {"requests": 3, "per": "hour"}}, format="json")
        .json()
    )

    assert default["rate_limit"] == {"requests": 7, "per": "second"}
    assert none["rate_limit"] is None
    assert own["rate_limit"] == {"requests": 3, "per": "hour"}


# --- quota events ------------------------------------------------------------------------------------------


def test_the_quota_sends_one_event_at_80_and_one_at_100_percent(cache_mode, user, make_key, api):
    received = []

    def receiver(sender, **kwargs):
        received.append((kwargs["percent"], kwargs["used"], kwargs["quota"], kwargs["key_id"]))

    quota_threshold_reached.connect(receiver)
    try:
        key, secret = make_key(user, monthly_quota=5)
        statuses = [api(secret).get(WHOAMI).status_code for _ in range(7)]
    finally:
        quota_threshold_reached.disconnect(receiver)

    assert statuses == [200] * 5 + [429] * 2
    assert received == [(80, 4, 5, key.pk), (100, 5, 5, key.pk)]


# --- Redis down ----------------------------------------------------------------------------------------------


@pytest.fixture
def failing_script(shared_cache, monkeypatch):
    """The shared cache's limiter fails as a down Redis would; the breaker starts closed."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from apikeys import keycache

    keycache.breaker.open_until = 0.0
    ratelimit._state.clear()
    real = ratelimit._redis

    def broken():
        found = real()
        assert found is not None

        class RefusingClient:
            def execute_command(self, *args, **kwargs):
                raise RedisConnectionError("Connection refused")

        return (RefusingClient(), found[1], found[2])

    monkeypatch.setattr(ratelimit, "_redis", broken)
    yield
    keycache.breaker.open_until = 0.0


@pytest.fixture
def limiter_log():
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("keyfence.ratelimit")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_redis_down_fails_open_counting_in_the_process_and_logs_once(failing_script, limiter_log, user, make_key, api):
    _, secret = make_key(user, rate_limit={"requests": 3, "per": "minute"})
    statuses = [api(secret).get(WHOAMI).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429], "each process still holds the key to its limit"
    assert len(limiter_log) == 1, [r.getMessage() for r in limiter_log]
    assert "counting in each process alone" in limiter_log[0].getMessage()


def test_redis_down_fails_closed_when_set(failing_script, limiter_log, settings, user, make_key, api):
    settings.KEYFENCE_RATE_LIMIT_FAIL_OPEN = False
    _, limited = make_key(user, rate_limit={"requests": 3, "per": "minute"})
    _, unlimited = make_key(user, name="free")
    response = api(limited).get(WHOAMI)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "RATE_LIMIT_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1
    assert api(unlimited).get(WHOAMI).status_code == 200, "keys without limits never wait on Redis"


def test_fail_open_must_be_a_boolean(settings):
    from apikeys.checks import check_settings

    settings.KEYFENCE_RATE_LIMIT_FAIL_OPEN = "yes"
    assert [error.id for error in check_settings()] == ["apikeys.E011"]


# --- one round trip for a limited key --------------------------------------------------------------------


@pytest.fixture
def cache_reads(shared_cache, monkeypatch):
    """Every read of the key cache (the version token or a record): a round trip to Redis each."""
    from apikeys import keycache

    reads: list[str] = []
    real = keycache._read

    def counted(cache, name):
        reads.append(name)
        return real(cache, name)

    monkeypatch.setattr(keycache, "_read", counted)
    return reads


def test_a_limited_key_costs_one_round_trip_like_any_key(cache_reads, user, make_key, api):
    _, secret = make_key(user, rate_limit={"requests": 100, "per": "minute"})
    api(secret).get(WHOAMI)  # this process reads and keeps the key's record
    cache_reads.clear()
    responses = [api(secret).get(WHOAMI) for _ in range(3)]
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["98", "97", "96"]
    assert cache_reads == [], "the script confirms the record's token and counts, in the same round trip"


def test_a_held_record_that_changed_counts_nothing_and_the_current_one_decides(cache_reads, user, make_key, api):
    key, secret = make_key(user, allow=["203.0.113.0/24"], monthly_quota=10)
    assert api(secret, ip="203.0.113.9").get(WHOAMI).status_code == 200
    actor = services.Actor(user_id=user.pk)
    # The held record would block this address; the current list admits it.
    services.allowlist_add(key=key, actor=actor, cidr="198.51.100.0/24")
    assert api(secret, ip="198.51.100.9").get(WHOAMI).status_code == 200
    services.key_revoke(key=key, actor=actor)
    revoked = api(secret, ip="203.0.113.9").get(WHOAMI)
    assert revoked.json()["error"]["code"] == "API_KEY_REVOKED"
    assert ratelimit.monthly_usage([key])[key.pk] == 2, "the revoked request was not counted"


def test_a_wrong_secret_for_a_held_key_counts_nothing(cache_reads, user, make_key, api):
    key, secret = make_key(user, monthly_quota=10)
    api(secret).get(WHOAMI)
    from apikeys.secrets import generate_key

    wrong = generate_key(key.prefix)  # the key's prefix and a valid checksum, another secret
    assert api(wrong).get(WHOAMI).json()["error"]["code"] == "INVALID_API_KEY"
    assert ratelimit.monthly_usage([key])[key.pk] == 1


def test_a_redis_that_forgot_the_script_loads_it_again_and_counts(shared_cache, user, make_key, api):
    _, secret = make_key(user, rate_limit={"requests": 100, "per": "minute"})
    assert api(secret).get(WHOAMI).headers["RateLimit-Remaining"] == "99"
    client = ratelimit._redis()[0]  # a restarted Redis knows no scripts
    client.script_flush()
    responses = [api(secret).get(WHOAMI) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["98", "97"], "counted once each, none lost"
