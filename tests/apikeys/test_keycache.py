"""The key store (``keycache``) and the record builder (``records``), called directly: what a record
holds, what a lookup costs, and that no change is ever missed (SPEC §1, §11)."""

from __future__ import annotations

import dataclasses
import pickle
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from apikeys import keycache, services
from apikeys.models import AllowlistEntry, ApiKey
from apikeys.networks import parse_client_address
from apikeys.records import KeyRecord
from apikeys.secrets import generate_prefix, hash_key
from tests.servers import REDIS_URL

pytestmark = pytest.mark.django_db

MakeKey = Callable[..., tuple[ApiKey, str]]
LATER = datetime(2099, 1, 1, tzinfo=UTC)


def unused_prefix() -> str:
    prefix = generate_prefix()
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = generate_prefix()
    return prefix


def record_of(prefix: str) -> KeyRecord:
    record = keycache.get_record(prefix)
    assert record is not None
    return record


def match(record: KeyRecord, address: str) -> Any:
    return record.allowlist.match(parse_client_address(address))


# --- both cache set-ups -----------------------------------------------------------------------------------


def test_an_unknown_prefix_has_no_record(cache_mode: dict[str, str], user: Any, make_key: MakeKey) -> None:
    make_key(user)
    prefix = unused_prefix()
    assert keycache.get_record(prefix) is None
    assert keycache.get_record(prefix) is None


def test_the_record_reflects_the_row(cache_mode: dict[str, str], user: Any, make_key: MakeKey) -> None:
    key, secret = make_key(user, scopes=["keys:read", "logs:read"], mode="report", expires_at=LATER)
    record = record_of(key.prefix)
    assert (record.id, record.user_id, record.name, record.prefix) == (key.pk, user.pk, "CI deploy", key.prefix)
    assert record.scopes == frozenset({"keys:read", "logs:read"})
    assert record.allowlist_mode == "report"
    assert record.expires_at == LATER
    assert (record.revoked_at, record.last_used_at, record.previous_expires_at) == (None, None, None)
    assert record.user_active is True
    assert record.secret_hash == hash_key(secret)


def test_the_record_never_holds_the_secret(cache_mode: dict[str, str], user: Any, make_key: MakeKey) -> None:
    key, old = make_key(user, allow=["203.0.113.0/24"])
    _, new = services.key_roll(key=key, actor=services.Actor(user_id=user.pk), grace_seconds=60)
    record = record_of(key.prefix)
    assert (record.secret_hash, record.previous_secret_hash) == (hash_key(new), hash_key(old))
    for secret in (old, new):
        body = secret[12:]
        assert body not in repr(record)
        assert body.encode() not in pickle.dumps(record)
    if cache_mode["REDIS_URL"]:  # what another process would read from Redis
        cache = caches["default"]
        raw = redis.Redis.from_url(REDIS_URL).get(cache.make_key(keycache._record_key(key.prefix)))
        assert raw is not None
        assert old[12:].encode() not in raw
        assert new[12:].encode() not in raw


def test_the_compiled_allowlist_matches_the_entries(cache_mode: dict[str, str], user: Any, make_key: MakeKey) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24", ("203.0.113.5", "runner"), "2001:db8::/48"])
    ids = dict(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", "id"))
    record = record_of(key.prefix)
    assert not record.allowlist.unrestricted
    assert match(record, "203.0.113.77") == (ids["203.0.113.0/24"], "203.0.113.0/24")
    assert match(record, "203.0.113.5") == (ids["203.0.113.5/32"], "203.0.113.5/32")  # the most specific
    assert match(record, "::ffff:203.0.113.5") == (ids["203.0.113.5/32"], "203.0.113.5/32")
    assert match(record, "2001:db8:0:ffff::1") == (ids["2001:db8::/48"], "2001:db8::/48")
    assert match(record, "203.0.114.1") is None
    assert match(record, "2001:db9::1") is None
    assert match(record, "198.51.100.1") is None


def test_a_key_without_entries_is_unrestricted(cache_mode: dict[str, str], user: Any, make_key: MakeKey) -> None:
    key, _ = make_key(user)
    assert record_of(key.prefix).allowlist.unrestricted


# --- the per-process cache: the row is read on every call -------------------------------------------------


def test_every_call_reads_the_row_with_one_query_and_reuses_an_unchanged_record(
    local_cache: None, user: Any, make_key: MakeKey, django_assert_num_queries: Any
) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    first = record_of(key.prefix)
    for _ in range(3):
        with django_assert_num_queries(1):
            assert record_of(key.prefix) is first


def test_a_change_no_signal_announces_is_seen_on_the_next_call(
    local_cache: None, user: Any, make_key: MakeKey, django_assert_num_queries: Any
) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    before = record_of(key.prefix)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    with django_assert_num_queries(1):
        after = record_of(key.prefix)
    assert before.revoked_at is None
    assert after.revoked_at is not None
    # Same version: the allowlist compiled for it is reused, not read again.
    assert after.version == before.version
    assert after.allowlist is before.allowlist


def test_a_deactivated_owner_is_seen_on_the_next_call(local_cache: None, user: Any, make_key: MakeKey) -> None:
    key, _ = make_key(user)
    assert record_of(key.prefix).user_active is True
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert record_of(key.prefix).user_active is False


def test_a_new_version_rebuilds_the_record_and_its_allowlist(local_cache: None, user: Any, make_key: MakeKey) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    before = record_of(key.prefix)
    assert match(before, "198.51.100.7") is None
    entry = services.allowlist_add(key=key, actor=services.Actor(user_id=user.pk), cidr="198.51.100.7")
    after = record_of(key.prefix)
    assert after is not before
    assert after.version == before.version + 1
    assert match(after, "198.51.100.7") == (entry.pk, "198.51.100.7/32")
    assert match(after, "203.0.113.1") is not None
    assert record_of(key.prefix) is after


def test_a_deleted_key_has_no_record(local_cache: None, user: Any, make_key: MakeKey) -> None:
    key, _ = make_key(user)
    assert keycache.get_record(key.prefix) is not None
    ApiKey.objects.filter(pk=key.pk).delete()
    assert keycache.get_record(key.prefix) is None


# --- the shared cache (Redis): a token per key, replaced on every change ----------------------------------


def test_with_redis_a_cached_record_costs_no_query(
    shared_cache: None, user: Any, make_key: MakeKey, django_assert_num_queries: Any
) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    first = record_of(key.prefix)
    with django_assert_num_queries(0):
        assert record_of(key.prefix) is first
    keycache._by_token.clear()  # as another process would start
    with django_assert_num_queries(0):
        again = record_of(key.prefix)
    assert again == first
    assert match(again, "203.0.113.9") is not None


def test_with_redis_a_change_is_read_again_after_its_commit(
    shared_cache: None,
    user: Any,
    make_key: MakeKey,
    django_assert_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    key, _ = make_key(user)
    assert record_of(key.prefix).revoked_at is None
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
        keycache.invalidate(key.prefix)
    with django_assert_num_queries(1):
        assert record_of(key.prefix).revoked_at is not None
    with django_assert_num_queries(0):
        assert record_of(key.prefix).revoked_at is not None


def test_with_redis_a_record_cached_before_the_commit_is_not_used_after_it(
    shared_cache: None, user: Any, make_key: MakeKey, django_capture_on_commit_callbacks: Any
) -> None:
    key, _ = make_key(user)
    old = record_of(key.prefix)
    cache = caches["default"]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
        keycache.invalidate(key.prefix)
        # Another process reads the committed (old) row now, and caches it under the new token.
        token = cache.get(keycache._version_key(key.prefix))
        stale = dataclasses.replace(old, token=token, fresh_until=time.time() + 3600)
        cache.set(keycache._record_key(key.prefix), stale)
        keycache._by_token[key.prefix] = stale
    assert record_of(key.prefix).revoked_at is not None
    keycache._by_token.clear()
    assert record_of(key.prefix).revoked_at is not None


def test_with_redis_a_rolled_back_change_leaves_the_key_as_it_was(
    shared_cache: None, user: Any, make_key: MakeKey, django_capture_on_commit_callbacks: Any
) -> None:
    key, _ = make_key(user)
    assert record_of(key.prefix).revoked_at is None
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
        keycache.invalidate(key.prefix)
        raise RuntimeError("the change fails")
    assert callbacks == []
    assert record_of(key.prefix).revoked_at is None


def test_with_redis_a_revoke_through_the_service_is_seen_at_once(
    shared_cache: None, user: Any, make_key: MakeKey, django_capture_on_commit_callbacks: Any
) -> None:
    key, _ = make_key(user)
    assert record_of(key.prefix).revoked_at is None
    with django_capture_on_commit_callbacks(execute=True):
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
    assert record_of(key.prefix).revoked_at is not None
    keycache._by_token.clear()
    assert record_of(key.prefix).revoked_at is not None
