"""A hung shared cache (Redis paused, not stopped) is skipped for a cool-down: requests read the
database at nearly the speed of a server without Redis, key changes are refused at once, and the
log says so once, not once per request."""

import logging
import os
import tempfile
import time
from contextlib import ExitStack
from types import SimpleNamespace

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from apikeys import keycache, services
from apikeys.errors import CacheUnavailable
from tests.servers import REDIS_URL, app_server, call, pause_redis, private_redis, redis_available, redis_caches

pytestmark = pytest.mark.django_db(transaction=True)
WARNING = "Shared cache unavailable"


def require_redis() -> None:
    if not redis_available():
        if os.environ.get("KEYFENCE_REQUIRE_SERVICES"):
            pytest.fail(f"Redis is required at {REDIS_URL}")
        pytest.skip(f"Redis is not running at {REDIS_URL}")


@pytest.fixture
def cache_log():
    """What keycache logs; its logger does not propagate to the root, where caplog listens."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("keyfence.keycache")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def clock(monkeypatch):
    """Monotonic time as keycache sees it, moved by hand."""
    now = [time.monotonic()]
    monkeypatch.setattr(keycache, "time", SimpleNamespace(time=time.time, monotonic=lambda: now[0]))
    return now


def test_the_breaker_skips_a_failing_cache_then_probes_it(settings, monkeypatch, clock, cache_log, user, make_key):
    require_redis()
    settings.CACHES = redis_caches()
    settings.KEYFENCE_CACHE_COOLDOWN_SECONDS = 5
    key, _ = make_key(user)
    reads, real_read = [], keycache._read

    def hung(cache, name):
        reads.append(name)
        raise RedisTimeoutError("Timeout reading from socket")

    monkeypatch.setattr(keycache, "_read", hung)
    records = [keycache.get_record(key.prefix) for _ in range(20)]
    assert all(record is not None and record.id == key.pk for record in records), "answers come from the database"
    assert len(reads) == 1, "only the first lookup waited on the cache"
    with pytest.raises(CacheUnavailable):  # refused at once, without waiting on the cache
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
    key.refresh_from_db()
    assert key.revoked_at is None

    clock[0] += 5.1  # the cool-down is over: the next lookup probes, and fails again
    keycache.get_record(key.prefix)
    keycache.get_record(key.prefix)
    assert len(reads) == 2
    clock[0] += 5.1  # the cache is back
    monkeypatch.setattr(keycache, "_read", real_read)
    assert keycache.get_record(key.prefix).id == key.pk
    assert not keycache.breaker.open_until
    services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
    assert keycache.get_record(key.prefix).revoked_at is not None

    messages = [record.getMessage() for record in cache_log]
    assert len(messages) == 2, messages  # one when it opened, one when it closed
    assert messages[0].startswith(WARNING) and messages[1].startswith("Shared cache reachable again")


def timed_requests(url: str, secret: str, count: int) -> float:
    """Send ``count`` requests one after another; return the seconds they took."""
    started = time.monotonic()
    answers = [call(url, "/api/v1/whoami", secret)[0] for _ in range(count)]
    elapsed = time.monotonic() - started
    assert answers == [200] * count
    return elapsed


@pytest.mark.multiprocess
def test_a_paused_redis_costs_less_than_half_the_throughput_and_logs_once(user, make_key):
    _, secret = make_key(user)
    rounds, per_round = 6, 100
    with tempfile.TemporaryFile() as log:
        with ExitStack() as stack:
            database_only = stack.enter_context(app_server(env={"REDIS_URL": ""}))
            port = stack.enter_context(private_redis())
            with_redis = stack.enter_context(app_server(env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, stderr=log))
            for url in (database_only, with_redis):
                timed_requests(url, secret, 20)  # warm; the token and the record are in Redis
            stack.callback(pause_redis(port, 60).close)
            # Rounds alternate between the two servers, so that a change in the machine's load
            # weighs on both alike.
            seconds = {database_only: 0.0, with_redis: 0.0}
            for _ in range(rounds):
                for url in seconds:
                    seconds[url] += timed_requests(url, secret, per_round)
        log.seek(0)
        warnings = [line for line in log.read().decode().splitlines() if WARNING in line]

    assert seconds[with_redis] <= 2 * seconds[database_only], seconds
    assert len(warnings) == 1, warnings  # one worker, one opening of its breaker


@pytest.mark.parametrize("name", ["KEYFENCE_CACHE_COOLDOWN_SECONDS", "KEYFENCE_CACHE_REVALIDATE_SECONDS"])
@pytest.mark.parametrize("value", [0, -1, "5", True], ids=["zero", "negative", "text", "bool"])
def test_the_cache_timings_must_be_positive_numbers(settings, name, value):
    from apikeys.checks import check_settings

    setattr(settings, name, value)
    assert [error.id for error in check_settings()] == ["apikeys.E007"]
