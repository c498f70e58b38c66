"""Look up a key for request handling, with a cache that can never admit a stale key.

With a per-process cache (the default local-memory backend) every request reads the key's row,
one indexed query, and reuses the allowlist compiled for that row's ``version``. With a shared
cache (Redis) the record lives in the cache next to a version token that every change replaces
after it commits, so a change reaches every process on its very next request. If the shared
cache fails, requests fall back to the database.
"""
from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from .conf import conf
from .models import AllowlistEntry, ApiKey
from .networks import CompiledAllowlist, compile_allowlist

logger = logging.getLogger("keyfence.keycache")

_FIELDS = (
    "id", "owner_id", "name", "prefix", "secret_hash", "previous_secret_hash", "previous_expires_at",
    "scopes", "allowlist_mode", "expires_at", "revoked_at", "version", "last_used_at", "owner__is_active",
)
_COMPILED_MAX = 2048
_compiled: OrderedDict[tuple[Any, int], CompiledAllowlist] = OrderedDict()


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


def _cache() -> Any:
    return caches[conf.CACHE_ALIAS]


def cache_is_shared() -> bool:
    """A per-process cache cannot carry invalidations between processes, so it is not used."""
    return not isinstance(_cache(), (LocMemCache, DummyCache))


def _compiled_for(key_id: Any, version: int) -> CompiledAllowlist:
    cache_key = (key_id, version)
    compiled = _compiled.get(cache_key)
    if compiled is None:
        rows = AllowlistEntry.objects.filter(api_key_id=key_id).values_list("id", "cidr")
        # Each range carries (entry id, cidr), so the usage log can name the entry that matched.
        compiled = compile_allowlist(((entry_id, cidr), cidr) for entry_id, cidr in rows)
        _compiled[cache_key] = compiled
        if len(_compiled) > _COMPILED_MAX:
            _compiled.popitem(last=False)
    return compiled


def _load(prefix: str, token: str = "") -> KeyRecord | None:
    row = ApiKey.objects.filter(prefix=prefix).values_list(*_FIELDS)[:1]
    row = next(iter(row), None)
    if row is None:
        return None
    values = dict(zip(_FIELDS, row))
    return KeyRecord(
        id=values["id"], owner_id=values["owner_id"], name=values["name"], prefix=prefix,
        secret_hash=values["secret_hash"], previous_secret_hash=values["previous_secret_hash"],
        previous_expires_at=values["previous_expires_at"], scopes=frozenset(values["scopes"] or ()),
        allowlist_mode=values["allowlist_mode"], expires_at=values["expires_at"],
        revoked_at=values["revoked_at"], version=values["version"], last_used_at=values["last_used_at"],
        owner_active=values["owner__is_active"], allowlist=_compiled_for(values["id"], values["version"]),
        token=token,
    )


def _record_key(prefix: str) -> str:
    return f"keyfence:key:{prefix}"


def _version_key(prefix: str) -> str:
    return f"keyfence:ver:{prefix}"


def get_record(prefix: str) -> KeyRecord | None:
    """The current record for ``prefix``, or ``None`` if no key has it."""
    if not cache_is_shared():
        return _load(prefix)
    cache = _cache()
    record_key, version_key = _record_key(prefix), _version_key(prefix)
    try:
        found = cache.get_many([record_key, version_key])
    except Exception:
        logger.warning("Shared cache unavailable; reading key %s from the database.", prefix)
        return _load(prefix)
    token = found.get(version_key)
    record = found.get(record_key)
    if token is not None and record is not None and record.token == token:
        return record
    if token is None:
        token = uuid.uuid4().hex
        try:
            if not cache.add(version_key, token, timeout=None):
                return _load(prefix)
        except Exception:
            return _load(prefix)
    record = _load(prefix, token)
    if record is not None:
        try:
            cache.set(record_key, record, timeout=conf.CACHE_TIMEOUT)
        except Exception:
            logger.warning("Could not cache key %s.", prefix)
    return record


def _replace_token(prefix: str) -> None:
    _cache().set(_version_key(prefix), uuid.uuid4().hex, timeout=None)


def invalidate(prefix: str) -> None:
    """Make every process reread ``prefix``; call inside the transaction that changes it.

    The token is replaced before the commit, so a failing cache aborts the change rather than
    leave a stale record behind, and again after the commit, so that a record cached from the
    old row in between is never used.
    """
    if not cache_is_shared():
        return
    _replace_token(prefix)

    def after_commit() -> None:
        try:
            _replace_token(prefix)
        except Exception:
            logger.error("Could not invalidate cached key %s after commit.", prefix)

    transaction.on_commit(after_commit)
