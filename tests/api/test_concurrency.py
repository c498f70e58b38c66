"""Limits under races, on SQLite and on PostgreSQL: the key's row serialises edits to one key."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from apikeys import services
from apikeys.models import AllowlistEntry
from apikeys.networks import validate_allowlist

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(count, work):
    """Start ``count`` threads together; each runs ``work(i)``; return their results or errors."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_parallel_adds_at_19_entries_give_exactly_one_success(user, make_key):
    key, _ = make_key(user, allow=[f"198.51.100.{i}" for i in range(19)])
    actor = services.Actor(user_id=user.pk)

    results = run_in_threads(20, lambda i: services.allowlist_add(key=key, actor=actor, cidr=f"203.0.113.{i}"))

    successes = [r for r in results if isinstance(r, AllowlistEntry)]
    failures = [r for r in results if isinstance(r, ValidationError)]
    assert len(successes) == 1, results
    assert len(failures) == 19
    assert {f.error_dict["cidr"][0].code for f in failures} == {"TOO_MANY_ENTRIES"}
    assert AllowlistEntry.objects.filter(api_key=key).count() == 20


def test_parallel_adds_through_the_api_give_exactly_one_success(user, make_key, api):
    key, secret = make_key(user, allow=[f"198.51.100.{i}" for i in range(19)])

    def add(i):
        return api(secret, ip="198.51.100.1").post(
            f"/api/v1/keys/{key.pk}/allowlist", {"cidr": f"203.0.113.{i}"}, format="json"
        )

    statuses = sorted(r.status_code for r in run_in_threads(10, add))
    assert statuses == [201] + [400] * 9
    assert AllowlistEntry.objects.filter(api_key=key).count() == 20


def test_concurrent_puts_leave_one_submitted_list_never_a_mix(user, make_key):
    key, _ = make_key(user, allow=["192.0.2.1"])
    actor = services.Actor(user_id=user.pk)
    lists = [[f"10.{i}.{j}.0/24" for j in range(10)] for i in range(1, 9)]

    def put(i):
        entries = validate_allowlist([{"cidr": cidr} for cidr in lists[i]])
        return services.allowlist_replace(key=key, actor=actor, entries=entries)

    results = run_in_threads(len(lists), put)
    assert not [r for r in results if isinstance(r, Exception)]
    stored = sorted(AllowlistEntry.objects.filter(api_key=key).values_list("cidr", flat=True))
    assert stored in [sorted(cidrs) for cidrs in lists]


def test_the_database_under_test(db):
    # Documents which backend this run covers; CI runs the suite on both.
    assert connection.vendor in {"sqlite", "postgresql"}
