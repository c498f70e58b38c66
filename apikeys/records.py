"""Build a key's :class:`KeyRecord` from its row: one query, no queryset or model instance.

The record is what request handling needs to know about a key, with its allowlist compiled once
per ``version``. A record is rebuilt only when its row changes. :mod:`apikeys.keycache` decides
where records come from (this module, or the shared cache).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, router
from django.db.models import Field
from django.db.models.options import Options

from .conf import conf
from .matching import CompiledAllowlist, compile_allowlist
from .models import AllowlistEntry, ApiKey
from .ratelimit_rules import RateLimit, rate_limit_from_json

_COLUMNS = (
    "id",
    "created_by_id",
    "workspace_id",
    "name",
    "secret_hash",
    "previous_secret_hash",
    "previous_expires_at",
    "scopes",
    "allowlist_mode",
    "expires_at",
    "revoked_at",
    "version",
    "last_used_at",
    "rate_limit",
    "monthly_quota",
)
MEMO_MAX = 4096
_compiled: dict[tuple[Any, int], CompiledAllowlist] = {}
# prefix -> (row, record): a record is rebuilt only when its row changes.
_by_row: dict[str, tuple[tuple[Any, ...], KeyRecord]] = {}
_sql: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What request handling needs to know about a key; never holds the key itself."""

    id: Any
    # The member who created the key (request.user for its requests), or None once deleted.
    user_id: Any
    workspace_id: Any
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
    # False when the creator's account is deactivated: the key stops working.
    user_active: bool
    allowlist: CompiledAllowlist
    token: str = ""
    # Wall-clock time after which a shared-cache copy of this record is read again.
    fresh_until: float = 0.0
    # Per-key limits (SPEC §18); a key with neither costs its requests nothing more.
    rate_limit: RateLimit | None = None
    monthly_quota: int | None = None


def remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= MEMO_MAX:
        memo.pop(next(iter(memo), None), None)  # the oldest entry; safe if another thread won
    memo[key] = value


def _compiled_for(key_id: Any, version: int) -> CompiledAllowlist:
    compiled = _compiled.get((key_id, version))
    if compiled is None:
        rows = AllowlistEntry.objects.filter(api_key_id=key_id).values_list("id", "cidr", "not_before", "expires_at")
        # Each range carries (entry id, cidr), so the usage log can name the entry that matched.
        # Windows are compiled as they are and compared with the clock on each match (SPEC §15).
        compiled = compile_allowlist(((entry_id, cidr), cidr, start, end) for entry_id, cidr, start, end in rows)
        remember(_compiled, (key_id, version), compiled)
    return compiled


def _select_sql(connection: Any) -> str:
    """One statement per backend, built once from the models' table and column names."""
    sql = _sql.get(connection.alias)
    if sql is None:
        qn = connection.ops.quote_name
        key_meta = ApiKey._meta
        user_meta = key_meta.get_field("created_by").related_model._meta
        columns = ", ".join(f"k.{qn(_column(key_meta, name))}" for name in _COLUMNS)
        # A key whose creator was deleted keeps working (it belongs to its workspace): LEFT JOIN.
        sql = (
            f"SELECT {columns}, u.{qn(_column(user_meta, 'is_active'))} "
            f"FROM {qn(key_meta.db_table)} k LEFT JOIN {qn(user_meta.db_table)} u "
            f"ON u.{qn(user_meta.pk.column)} = k.{qn(key_meta.get_field('created_by').column)} "
            f"WHERE k.{qn(key_meta.get_field('prefix').column)} = %s"
        )
        _sql[connection.alias] = sql
    return sql


def _column(meta: Options[Any], name: str) -> str:
    """The column of a concrete field; ``get_field`` may also answer a reverse relation."""
    field = meta.get_field(name)
    column = field.column if isinstance(field, Field) else None
    if column is None:
        raise TypeError(f"{meta.label}.{name} has no column.")
    return column


def _aware(value: Any) -> datetime | None:
    # SQLite hands back naive UTC datetimes (or text, if a converter is missing).
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _record(prefix: str, row: tuple[Any, ...], token: str) -> KeyRecord:
    (
        key_id,
        user_id,
        workspace_id,
        name,
        secret_hash,
        previous_hash,
        previous_expires_at,
        scopes,
        mode,
        expires_at,
        revoked_at,
        version,
        last_used_at,
        rate_limit,
        monthly_quota,
        user_active,
    ) = row
    if not isinstance(key_id, uuid.UUID):
        key_id = uuid.UUID(str(key_id))
    if isinstance(scopes, (str, bytes)):
        scopes = json.loads(scopes)
    if isinstance(rate_limit, (str, bytes)):
        rate_limit = json.loads(rate_limit)
    return KeyRecord(
        id=key_id,
        user_id=user_id,
        workspace_id=workspace_id if isinstance(workspace_id, uuid.UUID) else uuid.UUID(str(workspace_id)),
        name=name,
        prefix=prefix,
        secret_hash=secret_hash,
        previous_secret_hash=previous_hash or "",
        previous_expires_at=_aware(previous_expires_at),
        scopes=frozenset(scopes or ()),
        allowlist_mode=mode,
        expires_at=_aware(expires_at),
        revoked_at=_aware(revoked_at),
        version=int(version),
        last_used_at=_aware(last_used_at),
        user_active=user_active is None or bool(user_active),
        allowlist=_compiled_for(key_id, int(version)),
        token=token,
        fresh_until=time.time() + float(conf.CACHE_REVALIDATE_SECONDS) if token else 0.0,
        rate_limit=rate_limit_from_json(rate_limit),
        monthly_quota=None if monthly_quota is None else int(monthly_quota),
    )


def load_record(prefix: str, token: str = "") -> KeyRecord | None:
    """Read the key's row and build its record; ``token`` marks a record bound for the shared cache."""
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
        remember(_by_row, prefix, (row, record))
    return record
