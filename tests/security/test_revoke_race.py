"""Concurrent revoke and use: once the revoke has returned, no request is admitted, on any worker."""
import threading
import time

import pytest

from apikeys import services
from tests.api.test_revocation import cache_mode  # noqa: F401 (the same two cache set-ups)
from tests.servers import app_server, call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]


def test_no_request_is_admitted_after_the_revoke_returned(user, make_key, cache_mode):  # noqa: F811
    key, secret = make_key(user)
    results: list[tuple[float, int]] = []
    stop = threading.Event()

    with app_server(workers=2, env=cache_mode) as url:
        def hammer():
            while not stop.is_set():
                started = time.monotonic()
                status, _ = call(url, "/api/v1/whoami", secret)
                results.append((started, status))

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
        revoked_at = time.monotonic()
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(10)

    before = [status for started, status in results if started < revoked_at]
    after = [status for started, status in results if started > revoked_at]
    assert 200 in before, "the key worked before the revoke"
    assert len(after) > 10
    assert set(after) == {401}
