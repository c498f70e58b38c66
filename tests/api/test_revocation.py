"""A revocation or an allowlist change made in one process reaches the very next request handled
by another process, with the default per-process cache and with Redis as the shared cache."""

import pytest

from apikeys import services
from apikeys.networks import validate_allowlist
from tests.servers import app_server, call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]


def test_revocation_reaches_the_next_request_in_another_process(user, make_key, cache_mode):
    key, secret = make_key(user)
    with app_server(workers=2, env=cache_mode) as url:
        for _ in range(4):  # warm both workers' caches
            assert call(url, "/api/v1/whoami", secret)[0] == 200
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
        for _ in range(4):
            status, body = call(url, "/api/v1/whoami", secret)
            assert (status, body["error"]["code"]) == (401, "API_KEY_REVOKED")


def test_allowlist_change_reaches_the_next_request_in_another_process(user, make_key, cache_mode):
    key, secret = make_key(user)
    actor = services.Actor(user_id=user.pk)
    with app_server(workers=2, env=cache_mode) as url:
        for _ in range(4):
            assert call(url, "/api/v1/whoami", secret)[0] == 200
        services.allowlist_replace(key=key, actor=actor, entries=validate_allowlist([{"cidr": "203.0.113.5"}]))
        for _ in range(4):
            status, body = call(url, "/api/v1/whoami", secret)
            assert (status, body["error"]["code"]) == (403, "IP_NOT_ALLOWED")
        services.allowlist_replace(key=key, actor=actor, entries=validate_allowlist([{"cidr": "127.0.0.1"}]))
        for _ in range(4):
            assert call(url, "/api/v1/whoami", secret)[0] == 200


def test_deleting_a_key_or_its_owner_stops_the_key_on_the_next_request(user, other_user, make_key, cache_mode):
    """Every way of deleting a key, or of deleting or deactivating its owner, reaches every worker."""
    from django.contrib.auth import get_user_model

    from apikeys.models import ApiKey

    doomed = get_user_model().objects.create_user("doomed", "doomed@example.com", "yet-another-passphrase")
    by_queryset = make_key(user, name="queryset delete")
    by_instance = make_key(user, name="instance delete")
    by_owner_deleted = make_key(doomed, name="owner deleted")
    by_owner_deactivated = make_key(other_user, name="owner deactivated")
    survivor = make_key(user, name="survivor")
    # The admin's bulk delete is a queryset delete too (and staff may not delete audit events,
    # so the admin refuses it for any key that has some).
    keys = [by_queryset, by_instance, by_owner_deleted, by_owner_deactivated]

    with app_server(workers=2, env=cache_mode) as url:
        for _ in range(4):  # every worker has served, and cached, every key
            for _, secret in [*keys, survivor]:
                assert call(url, "/api/v1/whoami", secret)[0] == 200
        ApiKey.objects.filter(pk=by_queryset[0].pk).delete()
        by_instance[0].delete()
        doomed.delete()  # its keys go by cascade
        other_user.is_active = False
        other_user.save()
        for _ in range(4):
            for _, secret in keys:
                status, body = call(url, "/api/v1/whoami", secret)
                assert (status, body["error"]["code"]) == (401, "INVALID_API_KEY")
            assert call(url, "/api/v1/whoami", survivor[1])[0] == 200
