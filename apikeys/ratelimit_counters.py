"""Where per-key limits are counted: Redis for every server at once, or each process alone.

The rate limit is a GCRA (generic cell rate algorithm): a key limited to N per period P may send N
requests at once, and after that one more every P/N; its state is one number per key, the
*theoretical arrival time* (TAT). The monthly quota is one counter per key and calendar month
(UTC). One call checks both and consumes from both only when both allow, so a refused request
costs the key nothing.

With Redis, one Lua script does all of it in one atomic round trip, on Redis's own clock
(``TIME``): servers whose clocks disagree, or a client's ``Date`` header, cannot move a window.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from .ratelimit_rules import RateLimit

# STALE: the key's record changed since the caller read it, so nothing was counted.
OK, RATE, QUOTA, STALE = 0, 1, 2, 3
MICROS = 1_000_000
# Times are µs in floating point: a request due at exactly its time must not be refused for a
# rounding error (a key limited to 1 per hour, say, whose first request computes now + P - P).
SLACK = 0.001

# KEYS[1]: the rate limit's TAT (µs, Redis clock); KEYS[2]: this month's request count; KEYS[3],
# optional: the key's version token, which must still be ARGV[2] (the record the caller checked).
# ARGV[1]: "period requests quota expires": the period in µs (0 without a rate limit), requests per
# period, the quota (0: none), when the month's counter expires (Unix seconds). One argument and one
# reply string rather than four and five: the client encodes and parses less on every request.
# Returns "outcome remaining reset-µs retry-µs used" (remaining is -1 without a rate limit).
# Redis 5 or later: a script's writes after TIME replicate as effects by default.
LUA = """
local found = redis.call('MGET', unpack(KEYS))
if #KEYS == 3 and found[3] ~= ARGV[2] then return '3 0 0 0 0' end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local period, limit, quota, expires = string.match(ARGV[1], '^(%d+) (%d+) (%d+) (%d+)$')
period, limit, quota = tonumber(period), tonumber(limit), tonumber(quota)
local outcome, remaining, reset, retry, new_tat = 0, -1, 0, 0, 0
if period > 0 then
  local interval = period / limit
  local tat = tonumber(found[1] or '0')
  if tat < now then tat = now end
  new_tat = tat + interval
  local allow_at = new_tat - period
  if allow_at - now > 0.001 then
    outcome, remaining, retry = 1, 0, allow_at - now
    reset = retry
  else
    remaining = math.floor((now - allow_at) / interval + 0.000001)
    reset = (new_tat - now) % interval
    if reset <= 0 then reset = interval end
  end
end
local used = tonumber(found[2] or '0')
if quota > 0 and used >= quota then
  if outcome == 0 and remaining >= 0 then remaining = math.min(remaining + 1, limit) end
  outcome = 2
end
if outcome == 0 then
  if period > 0 then
    redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
  end
  used = redis.call('INCR', KEYS[2])
  if used == 1 then redis.call('EXPIREAT', KEYS[2], expires) end
end
return string.format('%d %d %d %d %d', outcome, remaining, math.ceil(reset), math.ceil(retry), used)
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request's check found. ``remaining`` is -1 for a key without a rate limit."""

    outcome: int
    remaining: int
    reset_seconds: int
    retry_seconds: int
    used: int


def _seconds(micros: float) -> int:
    return max(math.ceil(micros / MICROS), 1) if micros > 0 else 0


def outcome_from(reply: bytes | str) -> Outcome:
    """The script's reply as an :class:`Outcome`."""
    outcome, remaining, reset, retry, used = (int(value) for value in reply.split())
    return Outcome(outcome, remaining, _seconds(reset), _seconds(retry), used)


def script_limits(rate: RateLimit | None, quota: int | None, expires_at: int) -> bytes:
    """The script's ``ARGV[1]``: the limits, and when this month's counter expires."""
    period = rate.period_seconds * MICROS if rate is not None else 0
    return f"{period} {rate.requests if rate is not None else 1} {quota or 0} {expires_at}".encode()


class LocalCounter:
    """The same algorithm in this process's memory: without Redis, or while it cannot be reached.

    Each process counts alone, so N processes together let through up to N times the limit, and
    a restart forgets the counts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tat: dict[Any, float] = {}
        self._used: dict[tuple[Any, str], int] = {}

    def hit(self, key_id: Any, rate: RateLimit | None, quota: int | None, month: str) -> Outcome:
        now = time.monotonic() * MICROS
        with self._lock:
            remaining, reset, retry, new_tat, outcome = -1, 0.0, 0.0, 0.0, OK
            if rate is not None:
                period = rate.period_seconds * MICROS
                interval = period / rate.requests
                new_tat = max(self._tat.get(key_id, 0.0), now) + interval
                allow_at = new_tat - period
                if allow_at - now > SLACK:
                    outcome, remaining, retry = RATE, 0, allow_at - now
                    reset = retry
                else:
                    remaining = math.floor((now - allow_at) / interval + 1e-6)
                    reset = (new_tat - now) % interval or interval
            used = self._used.get((key_id, month), 0)
            if quota and used >= quota:
                if outcome == OK and rate is not None:
                    remaining = min(remaining + 1, rate.requests)
                outcome = QUOTA
            if outcome == OK:
                if rate is not None:
                    self._tat[key_id] = new_tat
                used = self._used[(key_id, month)] = used + 1
        return Outcome(outcome, remaining, _seconds(reset), _seconds(retry), used)

    def used(self, key_id: Any, month: str) -> int:
        return self._used.get((key_id, month), 0)

    def clear(self) -> None:
        with self._lock:
            self._tat.clear()
            self._used.clear()


local_counter = LocalCounter()
