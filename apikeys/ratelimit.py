"""Enforce a key's rate limit and monthly quota (SPEC §18), after the allowlist and before scopes.

A key with neither costs its requests nothing here. A limited key's request costs one Redis round
trip (a Lua script: see :mod:`ratelimit_counters`) when the shared cache is Redis, and nothing
outside this process otherwise: each process then counts alone.

If Redis fails or hangs, the key cache's circuit breaker opens and, for its cool-down, requests
skip Redis: with ``KEYFENCE_RATE_LIMIT_FAIL_OPEN`` (the default) each process counts alone meanwhile;
without it, limited keys are refused with 503 ``RATE_LIMIT_UNAVAILABLE``. That is logged at most
once a minute per process, not per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError
from rest_framework.exceptions import APIException

from . import keycache
from .conf import conf
from .errors import ApiError
from .models import ApiKey
from .ratelimit_counters import LUA, QUOTA, RATE, STALE, Outcome, local_counter, outcome_from, script_limits
from .ratelimit_rules import RateLimit
from .records import KeyRecord, remember
from .signals_out import quota_threshold_reached

logger = logging.getLogger("keyfence.ratelimit")

RATE_LIMITED = "RATE_LIMITED"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
RATE_LIMIT_UNAVAILABLE = "RATE_LIMIT_UNAVAILABLE"
LOG_INTERVAL = 60.0
THRESHOLDS = (80, 100)
_state: dict[str, Any] = {}
# (key id, token, month, limits) -> the script's EVALSHA command, encoded once per record and month.
_calls: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_log_lock = threading.Lock()


class LimitExceeded(ApiError):
    """A 429 (or, failing closed, a 503) whose ``wait`` becomes ``Retry-After``."""

    def __init__(self, code: str, message: str, wait: int, status_code: int = 429) -> None:
        super().__init__(code, message, status_code)
        self.wait = max(int(wait), 1)


class Month(NamedTuple):
    """A calendar month (UTC): ``YYYY-MM``, and when it starts and ends, in Unix seconds."""

    label: str
    start: float
    end: float


def month_at(timestamp: float) -> Month:
    """The month that a quota counts at ``timestamp``; worked out once a month per process."""
    known: Month | None = _state.get("month")
    if known is not None and known.start <= timestamp < known.end:
        return known
    now = datetime.fromtimestamp(timestamp, UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = datetime(now.year, now.month, 1, tzinfo=UTC).timestamp()
    found = _state["month"] = Month(
        f"{now.year:04d}-{now.month:02d}", start, datetime(year, month, 1, tzinfo=UTC).timestamp()
    )
    return found


def month_of(now: datetime) -> str:
    """The calendar month (UTC) that a quota counts, as ``YYYY-MM``."""
    return month_at(now.timestamp()).label


def seconds_to_next_month(now: datetime) -> int:
    """Whole seconds, rounded up, until the next calendar month begins (UTC)."""
    return _until(month_at(now.timestamp()), now.timestamp())


def _until(month: Month, timestamp: float) -> int:
    return max(math.ceil(month.end - timestamp), 1)


def _quota_key(key_id: Any, month: str) -> str:
    return f"keyfence:quota:{key_id}:{month}"


def _rate_key(key_id: Any) -> str:
    return f"keyfence:rate:{key_id}"


def _forget() -> None:
    _state.clear()
    _calls.clear()


conf.on_reload(_forget)


def _redis() -> tuple[Any, Any, Any] | None:
    """``(client, script, make_key)`` when the shared cache is Django's Redis backend, else ``None``.

    The client is built once per process: the backend would build one per call. ``script`` is
    redis-py's ``Script``: EVALSHA, and SCRIPT LOAD only if the server does not know it yet.
    """
    if "redis" not in _state:
        found = None
        cache = caches[conf.CACHE_ALIAS]
        if keycache.cache_is_shared() and isinstance(cache, RedisCache):
            client = cache._cache.get_client(write=True)
            found = (client, client.register_script(LUA), cache.make_key)
        _state["redis"] = found
    redis: tuple[Any, Any, Any] | None = _state["redis"]
    return redis


def _outage(exc: BaseException | None) -> None:
    """Log that limits are not counted across servers, at most once per ``LOG_INTERVAL``."""
    now = time.monotonic()
    with _log_lock:
        if now < _state.get("logged_until", 0.0):
            return
        _state["logged_until"] = now + LOG_INTERVAL
    how = "counting in each process alone" if conf.RATE_LIMIT_FAIL_OPEN else "refusing limited keys with 503"
    logger.warning("Rate limits cannot be counted in the shared cache (%s); %s.", exc or "breaker open", how)


def _script_call(record: KeyRecord, month: Month, confirm: bool) -> tuple[Any, ...]:
    """``EVALSHA sha numkeys keys... args...`` for this record and month, its strings already bytes."""
    memo = (record.id, record.token if confirm else "", month.label, record.rate_limit, record.monthly_quota)
    call = _calls.get(memo)
    if call is None:
        _client, script, make_key = _state["redis"]
        keys = [make_key(_rate_key(record.id)).encode(), make_key(_quota_key(record.id, month.label)).encode()]
        # The month's counter outlives the month by a day, for clocks that disagree at midnight.
        args = [script_limits(record.rate_limit, record.monthly_quota, int(month.end) + 86400)]
        if confirm:
            version_key, token = keycache.token_in_cache(record.prefix, record.token)
            keys, args = [*keys, version_key.encode()], [*args, token]
        call = ("EVALSHA", script.sha, len(keys), *keys, *args)
        remember(_calls, memo, call)
    return call


def _run_script(client: Any, script: Any, call: tuple[Any, ...]) -> Any:
    """One round trip: EVALSHA, built once per record; redis-py's ``Script`` loads the script into a
    server that does not know it yet (a restarted or flushed Redis) and runs it."""
    try:
        return client.execute_command(*call)
    except NoScriptError:
        numkeys = call[2]
        return script(keys=call[3 : 3 + numkeys], args=call[3 + numkeys :])


def _count(record: KeyRecord, month: Month, confirm: bool = False) -> Outcome | None:
    """Check and consume; ``None`` when the shared cache cannot count and the setting says fail closed.

    ``confirm``: count only if the record is still current in the shared cache, else answer ``STALE``
    (a failing cache too: the caller then reads the key the usual way, from the database).
    """
    redis = _redis()
    if redis is None:
        return local_counter.hit(record.id, record.rate_limit, record.monthly_quota, month.label)
    failure: BaseException | None = None
    if not (keycache.breaker.open_until and keycache.breaker.is_open()):
        try:
            result = outcome_from(_run_script(redis[0], redis[1], _script_call(record, month, confirm)))
        except Exception as exc:  # noqa: BLE001 - any cache failure opens the breaker
            keycache.breaker.failed(exc)
            failure = exc
        else:
            if keycache.breaker.open_until:
                keycache.breaker.succeeded()
            return result
    if confirm:
        return Outcome(STALE, 0, 0, 0, 0)
    _outage(failure)
    if not conf.RATE_LIMIT_FAIL_OPEN:
        return None
    return local_counter.hit(record.id, record.rate_limit, record.monthly_quota, month.label)


def limit_headers(rate: RateLimit | None, quota: int | None, result: Outcome, to_next_month: int) -> dict[str, str]:
    """``RateLimit-Limit``, ``-Remaining`` and ``-Reset``: of the rate limit, or else of the quota."""
    if rate is not None:
        limit, remaining, reset = rate.requests, result.remaining, result.reset_seconds
    else:
        limit, remaining, reset = quota or 0, max((quota or 0) - result.used, 0), to_next_month
    return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(max(remaining, 0)), "RateLimit-Reset": str(reset)}


def _add_headers(request: Any, headers: dict[str, str]) -> None:
    # DRF copies the view's ``headers`` onto whatever response it finalizes, errors included, so the
    # headers reach any APIView that authenticates with keys, with no middleware in the host project.
    view = (getattr(request, "parser_context", None) or {}).get("view")
    target = getattr(view, "headers", None)
    if isinstance(target, dict):
        target.update(headers)


def _announce(record: KeyRecord, quota: int, used: int, month: str) -> None:
    # The script counts atomically, so exactly one request sees each threshold's count.
    for percent in THRESHOLDS:
        if used == math.ceil(quota * percent / 100):
            results = quota_threshold_reached.send_robust(
                sender=ApiKey,
                key_id=record.id,
                workspace_id=record.workspace_id,
                key_name=record.name,
                key_prefix=record.prefix,
                percent=percent,
                used=used,
                quota=quota,
                month=month,
            )
            for receiver, error in results:
                if isinstance(error, Exception):
                    logger.error("A receiver of quota_threshold_reached failed: %r: %s", receiver, error)


def enforce(record: KeyRecord, request: Any, confirm: bool = False) -> bool:
    """Count this request against the key's limits; raise ``RATE_LIMITED`` or ``QUOTA_EXCEEDED`` (429).

    Every answer to a limited key carries the ``RateLimit-*`` headers; a refusal adds ``Retry-After``.
    With ``confirm``, nothing is counted and ``False`` is answered if ``record`` is no longer current.
    """
    rate, quota = record.rate_limit, record.monthly_quota
    if rate is None and quota is None:
        return True
    now = time.time()
    month = month_at(now)
    result = _count(record, month, confirm)
    if result is not None and result.outcome == STALE:
        return False
    if result is None:
        raise LimitExceeded(
            RATE_LIMIT_UNAVAILABLE,
            "This key's rate limit cannot be checked just now. Try again in a moment.",
            math.ceil(float(conf.CACHE_COOLDOWN_SECONDS)),
            503,
        )
    _add_headers(request, limit_headers(rate, quota, result, _until(month, now)))
    if result.outcome == QUOTA:
        raise LimitExceeded(
            QUOTA_EXCEEDED,
            f"This API key has used its monthly quota of {quota:,} requests; "
            "it resets at the start of next month (UTC).",
            _until(month, now),
        )
    if result.outcome == RATE and rate is not None:
        raise LimitExceeded(
            RATE_LIMITED,
            f"This API key is limited to {rate.requests:,} requests per {rate.per}.",
            result.retry_seconds,
        )
    if quota and result.used * 5 >= quota * 4:
        _announce(record, quota, result.used, month.label)
    return True


def enforce_held(prefix: str, check: Callable[[KeyRecord], Any], request: Any) -> KeyRecord | None:
    """A limited key's request in one Redis round trip, from the record this process holds.

    ``check`` verifies the secret and the allowlist (raising as authentication does); then one script
    confirms that the record is still current and counts. ``None``, with nothing counted, whenever
    that cannot be done (no held record, no limits, a refusal, a changed record, a failing cache):
    the caller then reads the key the usual way, as for any key, and calls :func:`enforce`.
    """
    record = keycache.held_record(prefix)
    if record is None or (record.rate_limit is None and record.monthly_quota is None) or _redis() is None:
        return None
    try:
        check(record)
    except APIException:
        return None  # the current record, read the usual way, decides
    return record if enforce(record, request, confirm=True) else None


def _has_limits(key: ApiKey) -> bool:
    return key.rate_limit is not None or key.monthly_quota is not None


def monthly_usage(keys: Iterable[ApiKey], now: datetime | None = None) -> dict[Any, int | None]:
    """Requests counted this month per key id; ``None`` for keys with no limit (they are not
    counted) and when the shared cache cannot be read. One round trip for the whole list."""
    keys = list(keys)
    usage: dict[Any, int | None] = {key.pk: None for key in keys}
    limited: Sequence[ApiKey] = [key for key in keys if _has_limits(key)]
    if not limited:
        return usage
    month = month_of(now or datetime.now(UTC))
    redis = _redis()
    if redis is None:
        usage.update({key.pk: local_counter.used(key.pk, month) for key in limited})
        return usage
    if keycache.breaker.open_until and keycache.breaker.is_open():
        return usage
    client, _script, make_key = redis
    try:
        values = client.mget([make_key(_quota_key(key.pk, month)) for key in limited])
    except Exception as exc:  # noqa: BLE001 - a page shows "unknown" rather than fail
        keycache.breaker.failed(exc)
        return usage
    usage.update({key.pk: int(value or 0) for key, value in zip(limited, values, strict=True)})
    return usage
