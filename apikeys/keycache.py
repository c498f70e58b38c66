"""Look up a key for request handling, with a cache that can never admit a stale key.

With a per-process cache (the default local-memory backend) every request reads the key's row,
one indexed query joined to the owner's ``is_active``, and reuses the record built for an
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

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.db import connections, router, transaction
from django.dispatch import receiver

from .conf import conf
from .errors import CacheUnavailable
from .models import AllowlistEntry, ApiKey
from .matching import CompiledAllowlist, compile_allowlist

logger = logging.getLogger("keyfence.keycache")

_COLUMNS = (
    "id", "owner_id", "name", "secret_hash", "previous_secret_hash", "previous_expires_at", "scopes",
    "allowlist_mode", "expires_at", "revoked_at", "version", "last_used_at",
)
_MEMO_MAX = 4096
_compiled: dict[tuple[Any, int], CompiledAllowlist] = {}
# prefix -> (row, record): a record is rebuilt only when its row changes.
_by_row: dict[str, tuple[tuple[Any, ...], KeyRecord]] = {}
# prefix -> record read from the shared cache, valid while the shared token is its token.
_by_token: dict[str, KeyRecord] = {}
_sql: dict[str, str] = {}
_state: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What request handling needs to know about a key; never holds the key itself."""

    id: Any
    owner_id: int
    name: str
    prefix: str
    secret_hash: str
    previous_secret_hash: str
    previous_expires_at: datetime | None
    scopes: frozenset[str]
    allowlist_mode: str
    expires_at: datetime | None
    revoked_at: datetime | None
    version: int
    last_used_at: datetime | None
    owner_active: bool
    allowlist: CompiledAllowlist
    token: str = ""
    # Wall-clock time after which a shared-cache copy of this record is read again.
    fresh_until: float = 0.0


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
            logger.warning("Shared cache unavailable (%s); reading keys from the database and refusing key "
                           "changes for %ss at a time until it answers.", exc, conf.CACHE_COOLDOWN_SECONDS)

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
    client, loads, make_key = backend.get_client(write=False), backend._serializer.loads, cache.make_key

    def read(key: str) -> Any:
        value = client.get(make_key(key))
        return None if value is None else loads(value)

    return read


@receiver(setting_changed, dispatch_uid="keyfence-keycache-settings")
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # The answer above is remembered per process; a test that swaps the cache must reset it.
    if setting in ("CACHES", "KEYFENCE_CACHE_ALIAS"):
        _state.clear()
        breaker.open_until = 0.0


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_MAX:
        memo.pop(next(iter(memo), None), None)  # the oldest entry; safe if another thread won
    memo[key] = value


def _compiled_for(key_id: Any, version: int) -> CompiledAllowlist:
    compiled = _compiled.get((key_id, version))
    if compiled is None:
        rows = AllowlistEntry.objects.filter(api_key_id=key_id).values_list("id", "cidr")
        # Each range carries (entry id, cidr), so the usage log can name the entry that matched.
        compiled = compile_allowlist(((entry_id, cidr), cidr) for entry_id, cidr in rows)
        _remember(_compiled, (key_id, version), compiled)
    return compiled


def _select_sql(connection: Any) -> str:
    """One statement per backend, built once from the models' table and column names."""
    sql = _sql.get(connection.alias)
    if sql is None:
        qn = connection.ops.quote_name
        key_meta = ApiKey._meta
        owner_meta = key_meta.get_field("owner").related_model._meta
        columns = ", ".join(f"k.{qn(key_meta.get_field(name).column)}" for name in _COLUMNS)
        sql = (
            f"SELECT {columns}, o.{qn(owner_meta.get_field('is_active').column)} "
            f"FROM {qn(key_meta.db_table)} k INNER JOIN {qn(owner_meta.db_table)} o "
            f"ON o.{qn(owner_meta.pk.column)} = k.{qn(key_meta.get_field('owner').column)} "
            f"WHERE k.{qn(key_meta.get_field('prefix').column)} = %s"
        )
        _sql[connection.alias] = sql
    return sql


def _aware(value: Any) -> datetime | None:
    # SQLite hands back naive UTC datetimes (or text, if a converter is missing).
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _record(prefix: str, row: tuple[Any, ...], token: str) -> KeyRecord:
    (key_id, owner_id, name, secret_hash, previous_hash, previous_expires_at, scopes, mode, expires_at,
     revoked_at, version, last_used_at, owner_active) = row
    if not isinstance(key_id, uuid.UUID):
        key_id = uuid.UUID(str(key_id))
    if isinstance(scopes, (str, bytes)):
        scopes = json.loads(scopes)
    return KeyRecord(
        id=key_id, owner_id=owner_id, name=name, prefix=prefix, secret_hash=secret_hash,
        previous_secret_hash=previous_hash or "", previous_expires_at=_aware(previous_expires_at),
        scopes=frozenset(scopes or ()), allowlist_mode=mode, expires_at=_aware(expires_at),
        revoked_at=_aware(revoked_at), version=int(version), last_used_at=_aware(last_used_at),
        owner_active=bool(owner_active), allowlist=_compiled_for(key_id, int(version)), token=token,
        fresh_until=time.time() + float(conf.CACHE_REVALIDATE_SECONDS) if token else 0.0,
    )


def _load(prefix: str, token: str = "") -> KeyRecord | None:
    """Read the key's row: one query, no queryset or model instance on the way."""
    connection = connections[router.db_for_read(ApiKey)]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(connection), (prefix,))
        row = cursor.fetchone()
    if row is None:
        return None
    if not token:
        known = _by_row.get(prefix)
        if known is not None and known[0] == row:
            return known[1]
    record = _record(prefix, row, token)
    if not token:
        _remember(_by_row, prefix, (row, record))
    return record


def _record_key(prefix: str) -> str:
    # "rec", not the former "key": records cached before ``fresh_until`` existed are never read.
    return f"keyfence:rec:{prefix}"


def _version_key(prefix: str) -> str:
    return f"keyfence:ver:{prefix}"


def is_current(record: KeyRecord | None, token: Any, now: float) -> bool:
    """Whether a cached record may answer: made under the current token, and not past its deadline.

    The token alone is not enough: a cache restored from an older snapshot brings back an old
    token together with the record made under it. The deadline bounds how long that, or any
    other stale copy, can be believed.
    """
    return record is not None and record.token == token and now < record.fresh_until


def get_record(prefix: str) -> KeyRecord | None:
    """The current record for ``prefix``, or ``None`` if no key has it."""
    if not cache_is_shared() or (breaker.open_until and breaker.is_open()):
        return _load(prefix)
    cache = _cache()
    try:
        token = _read(cache, _version_key(prefix))
        if token is not None:
            now = time.time()
            record = _by_token.get(prefix)
            if not is_current(record, token, now):
                record = _read(cache, _record_key(prefix))
                if is_current(record, token, now):
                    _remember(_by_token, prefix, record)
                else:
                    record = None
    except Exception as exc:
        breaker.failed(exc)
        return _load(prefix)
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
                return _load(prefix)
        except Exception as exc:
            breaker.failed(exc)
            return _load(prefix)
    record = _load(prefix, token)
    if record is None:
        _by_token.pop(prefix, None)
        return None
    _remember(_by_token, prefix, record)
    try:
        cache.set(_record_key(prefix), record, timeout=conf.CACHE_TIMEOUT)
    except Exception as exc:
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
        except Exception as exc:
            breaker.failed(exc)
            logger.error("Could not invalidate cached key %s after commit.", prefix)

    transaction.on_commit(after_commit)
