"""A shared cache restored from an older snapshot (a failover to a lagging replica) brings back an
old token with the record made under it. It must not bring a revoked key back for long: a record
is believed only until its revalidation deadline, and revoking again takes effect at once."""

import time
from types import SimpleNamespace

import pytest
import redis
from django.core.cache import caches

from apikeys import keycache, records, services
from apikeys.models import ApiKey
from tests.servers import REDIS_URL, app_server, call

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot(prefix: str) -> dict[str, bytes]:
    """The raw Redis values of a key's token and record, as a replica would hold them."""
    cache = caches["default"]
    raw = redis.Redis.from_url(REDIS_URL)
    names = [cache.make_key(keycache._version_key(prefix)), cache.make_key(keycache._record_key(prefix))]
    values = {name: raw.get(name) for name in names}
    assert all(values.values()), "the token and the record were cached"
    return values


def restore(values: dict[str, bytes]) -> None:
    raw = redis.Redis.from_url(REDIS_URL)
    for name, value in values.items():
        raw.set(name, value)


def statuses(url: str, secret: str, count: int = 6) -> list[int]:
    return [call(url, "/api/v1/whoami", secret)[0] for _ in range(count)]


@pytest.mark.multiprocess
def test_a_restored_cache_admits_a_revoked_key_no_longer_than_the_deadline(user, make_key, shared_cache):
    key, secret = make_key(user)
    with app_server(workers=2, env=shared_cache, settings={"KEYFENCE_CACHE_REVALIDATE_SECONDS": 1}) as url:
        assert statuses(url, secret) == [200] * 6
        before = snapshot(key.prefix)
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
        assert statuses(url, secret) == [401] * 6
        restore(before)
        restored_at = time.monotonic()
        while statuses(url, secret, 8) != [401] * 8:
            assert time.monotonic() - restored_at < 4, "the restored record outlived its deadline"
            time.sleep(0.1)


@pytest.mark.multiprocess
def test_revoking_again_after_a_restore_stops_the_key_at_once(user, make_key, shared_cache):
    key, secret = make_key(user)
    actor = services.Actor(user_id=user.pk)
    with app_server(workers=2, env=shared_cache) as url:  # the default deadline, 10 s
        assert statuses(url, secret) == [200] * 6
        before = snapshot(key.prefix)
        services.key_revoke(key=key, actor=actor)
        assert statuses(url, secret) == [401] * 6
        restore(before)
        # The fault is real: within its deadline, the restored record is believed.
        assert 200 in statuses(url, secret)
        services.key_revoke(key=key, actor=actor)
        assert statuses(url, secret) == [401] * 6
    key.refresh_from_db()
    assert key.events.filter(action="key.revoked").count() == 1, "the second revoke changed no row"


@pytest.fixture
def clock(monkeypatch):
    """Wall-clock time as the key store and the record builder see it, moved by hand."""
    now = [time.time()]
    fake = SimpleNamespace(time=lambda: now[0], monotonic=time.monotonic)
    monkeypatch.setattr(keycache, "time", fake)
    monkeypatch.setattr(records, "time", fake)
    return now


def test_a_cached_record_is_believed_until_its_deadline_then_reread_once(
    settings, user, make_key, shared_cache, clock, django_assert_num_queries
):
    settings.KEYFENCE_CACHE_REVALIDATE_SECONDS = 10
    key, _ = make_key(user)
    assert keycache.get_record(key.prefix).revoked_at is None  # the row, and its allowlist compiled
    # A change no signal announces (a queryset update) is not seen before the deadline...
    ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    clock[0] += 9.9
    with django_assert_num_queries(0):
        assert keycache.get_record(key.prefix).revoked_at is None
    # ... and is seen after it, with one query, and the fresh record is cached for the others.
    clock[0] += 0.2
    with django_assert_num_queries(1):
        assert keycache.get_record(key.prefix).revoked_at is not None
    keycache._by_token.clear()  # as another process would
    with django_assert_num_queries(0):
        record = keycache.get_record(key.prefix)
    assert record.revoked_at is not None and record.fresh_until == pytest.approx(clock[0] + 10)


@pytest.mark.parametrize(
    ("token", "offset", "current"),
    [
        ("t1", -1.0, True),
        ("t2", -1.0, False),
        ("t1", 0.0, False),
        ("t1", 1.0, False),
    ],
    ids=["same-token-in-time", "other-token", "at-deadline", "past-deadline"],
)
def test_the_deadline_rule(token, offset, current):
    record = SimpleNamespace(token="t1", fresh_until=100.0)
    assert keycache.is_current(record, token, 100.0 + offset) is current
    assert keycache.is_current(None, "t1", 0.0) is False
