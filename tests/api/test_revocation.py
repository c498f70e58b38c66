"""A revocation or an allowlist change made in one process reaches the very next request handled
by another process, with the default per-process cache and with Redis as the shared cache."""
import os

import pytest

from apikeys import services
from apikeys.networks import validate_allowlist
from tests.servers import REDIS_URL, app_server, call, redis_available

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]


@pytest.fixture(params=["local-memory", "redis"])
def cache_mode(request, settings):
    if request.param == "redis":
        if not redis_available():
            if os.environ.get("KEYFENCE_REQUIRE_SERVICES"):
                pytest.fail("Redis is required at 127.0.0.1:6379")
            pytest.skip("Redis is not running at 127.0.0.1:6379")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
        return {"REDIS_URL": REDIS_URL}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {"REDIS_URL": ""}


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
