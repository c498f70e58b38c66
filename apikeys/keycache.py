"""Where request handling gets a key's record: the store, with a cache that never admits a stale key.

With a per-process cache (the default local-memory backend) every request reads the key's row,
one indexed query joined to its creator's ``is_active``, and reuses the record built for an
identical row and the allowlist compiled for that row's ``version``. With a shared cache (Redis)
each change replaces a version token after it commits; a request reads only that token and reuses
the record it holds for it, so a change reaches every process on its very next request.

Two things bound what the shared cache can get wrong. A record is trusted only until its
revalidation deadline (``KEYFENCE_CACHE_REVALIDATE_SECONDS`` after it was read from the database),
so a cache restored from an older snapshot, or a change made where no signal fires, is seen within
that time. And a cache that fails or hangs opens a circuit breaker: for
``KEYFENCE_CACHE_COOLDOWN_SECONDS`` requests read the database and changes are refused at once,
instead of each waiting out the socket timeout.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from .conf import conf
from .errors import CacheUnavailable
from .records import KeyRecord, load_record, remember

logger = logging.getLogger("keyfence.keycache")

# prefix -> record read from the shared cache, valid while the shared token is its token.
_by_token: dict[str, KeyRecord] = {}
RECORD_FORMAT = 4
_state: dict[str, Any] = {}


def _cache() -> Any:
    return caches[conf.CACHE_ALIAS]


class CacheBreaker:
    """Skip the shared cache for a cool-down after it fails.

    A hung Redis would otherwise cost every request its socket timeout. While open, lookups read
    the database and changes are refused at once; the first call after the cool-down probes the
    cache again. ``open_until`` is 0 while closed, so the normal path reads one attribute and
    takes no lock. A warning is logged when the breaker opens and when it closes, not per call.
    """

    def __init__(self) -> None:
        self.open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        """True while the cool-down runs; False once it is over, so that the next call probes."""
        until = self.open_until
        return bool(until) and time.monotonic() < until

    def failed(self, exc: BaseException) -> None:
        """The cache failed: open (or, after a failed probe, re-open) for a cool-down."""
        with self._lock:
            opening = not self.open_until
            self.open_until = time.monotonic() + max(float(conf.CACHE_COOLDOWN_SECONDS), 0.001)
        if opening:
            logger.warning(
                "Shared cache unavailable (%s); reading keys from the database and refusing key "
                "changes for %ss at a time until it answers.",
                exc,
                conf.CACHE_COOLDOWN_SECONDS,
            )

    def succeeded(self) -> None:
        """A probe reached the cache: close. Callers check ``open_until`` first."""
        with self._lock:
            closing = bool(self.open_until)
            self.open_until = 0.0
        if closing:
            logger.warning("Shared cache reachable again; reading keys through it.")


breaker = CacheBreaker()


def cache_is_shared() -> bool:
    """A per-process cache cannot carry invalidations between processes, so it is not used."""
    shared = _state.get("shared")
    if shared is None:
        shared = _state["shared"] = not isinstance(_cache(), (LocMemCache, DummyCache))
    return shared


def _read(cache: Any, key: str) -> Any:
    """``cache.get(key)``, through one reused client when the cache is Django's Redis backend.

    That backend builds a new redis-py client for every call, which costs more than the round
    trip itself (about 100 µs), and this read happens on every request.
    """
    reader = _state.get("reader")
    if reader is None:
        reader = _state["reader"] = _reader_for(cache)
    return reader(key)


def _reader_for(cache: Any) -> Any:
    if not isinstance(cache, RedisCache):
        return cache.get
    backend = cache._cache
    # _serializer is private to Django's Redis client, so the stubs leave it out.
    serializer = backend._serializer  # type: ignore[attr-defined]
    client, loads, make_key = backend.get_client(write=False), serializer.loads, cache.make_key

    def read(key: str) -> Any:
        value = client.get(make_key(key))
        return None if value is None else loads(value)

    return read


def _forget_cache() -> None:
    # The cache client and whether it is shared are kept per process; a changed CACHES or
    # KEYFENCE_CACHE_ALIAS (a test that swaps the cache) must start afresh.
    _state.clear()
    breaker.open_until = 0.0


conf.on_reload(_forget_cache)


def _record_key(prefix: str) -> str:
    # The format's number changes with KeyRecord's fields: a record cached by an older release
    # (without the workspace, say) is never read, only replaced.
    return f"keyfence:rec{RECORD_FORMAT}:{prefix}"


def _version_key(prefix: str) -> str:
    return f"keyfence:ver:{prefix}"


def is_current(record: KeyRecord | None, token: Any, now: float) -> bool:
    """Whether a cached record may answer: made under the current token, and not past its deadline.

    The token alone is not enough: a cache restored from an older snapshot brings back an old
    token together with the record made under it. The deadline bounds how long that, or any
    other stale copy, can be believed.
    """
    return record is not None and record.token == token and now < record.fresh_until


def held_record(prefix: str) -> KeyRecord | None:
    """The record this process holds for ``prefix`` from the shared cache, before its deadline.

    No I/O, and no promise that it is current: a caller must confirm its token in the shared cache
    (:func:`token_in_cache`) before acting on it, as :func:`get_record` does.
    """
    if not cache_is_shared() or (breaker.open_until and breaker.is_open()):
        return None
    record = _by_token.get(prefix)
    return record if record is not None and time.time() < record.fresh_until else None


def token_in_cache(prefix: str, token: str) -> tuple[str, bytes]:
    """The version token's key as Django's Redis cache names it, and ``token`` as that cache stores
    it, for a script that compares them in Redis."""
    cache = _cache()
    serializer = cache._cache._serializer  # private to Django's Redis client, as in _reader_for
    return cache.make_key(_version_key(prefix)), serializer.dumps(token)


def get_record(prefix: str) -> KeyRecord | None:
    """The current record for ``prefix``, or ``None`` if no key has it."""
    if not cache_is_shared() or (breaker.open_until and breaker.is_open()):
        return load_record(prefix)
    cache = _cache()
    try:
        token = _read(cache, _version_key(prefix))
        if token is not None:
            now = time.time()
            record = _by_token.get(prefix)
            if not is_current(record, token, now):
                record = _read(cache, _record_key(prefix))
                if is_current(record, token, now):
                    remember(_by_token, prefix, record)
                else:
                    record = None
    except Exception as exc:  # noqa: BLE001 - any cache failure opens the breaker
        breaker.failed(exc)
        return load_record(prefix)
    if breaker.open_until:
        breaker.succeeded()
    if token is not None and record is not None:
        return record
    return _load_shared(cache, prefix, token)


def _load_shared(cache: Any, prefix: str, token: str | None) -> KeyRecord | None:
    """Read the row and cache it under the current token, with a fresh revalidation deadline."""
    if token is None:
        token = uuid.uuid4().hex
        try:
            if not cache.add(_version_key(prefix), token, timeout=None):
                return load_record(prefix)
        except Exception as exc:  # noqa: BLE001 - any cache failure opens the breaker
            breaker.failed(exc)
            return load_record(prefix)
    record = load_record(prefix, token)
    if record is None:
        _by_token.pop(prefix, None)
        return None
    remember(_by_token, prefix, record)
    try:
        cache.set(_record_key(prefix), record, timeout=conf.CACHE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any cache failure opens the breaker
        breaker.failed(exc)
    return record


def _replace_token(prefix: str) -> None:
    _cache().set(_version_key(prefix), uuid.uuid4().hex, timeout=None)
    _by_token.pop(prefix, None)


def invalidate(prefix: str) -> None:
    """Make every process reread ``prefix``; call inside the transaction that changes it.

    The token is replaced before the commit, so a failing cache aborts the change (with
    :class:`CacheUnavailable`) rather than leave a stale record behind, and again after the
    commit, so that a record cached from the old row in between is never used. While the
    breaker is open the change is refused at once, without waiting on the cache.
    """
    if not cache_is_shared():
        return
    if breaker.is_open():
        raise CacheUnavailable()
    try:
        _replace_token(prefix)
    except Exception as exc:
        breaker.failed(exc)
        logger.error("Shared cache unavailable; the change to key %s is refused: %s", prefix, exc)
        raise CacheUnavailable() from exc
    if breaker.open_until:
        breaker.succeeded()

    def after_commit() -> None:
        try:
            _replace_token(prefix)
        except Exception as exc:  # noqa: BLE001 - any cache failure opens the breaker
            breaker.failed(exc)
            logger.error("Could not invalidate cached key %s after commit.", prefix)

    transaction.on_commit(after_commit)
