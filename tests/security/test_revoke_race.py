"""Concurrent revoke and use: once the revoke has returned, no request is admitted, on any worker."""

import threading
import time

import pytest

from apikeys import services
from tests.servers import app_server, call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]
THREADS = 4
AFTER = 20


def test_no_request_is_admitted_after_the_revoke_returned(user, make_key, cache_mode):
    key, secret = make_key(user)
    results: list[tuple[float, int]] = []
    stop = threading.Event()
    served = [threading.Event() for _ in range(THREADS)]

    with app_server(workers=2, env=cache_mode) as url:

        def hammer(first_ok: threading.Event) -> None:
            while not stop.is_set():
                started = time.monotonic()
                status, _ = call(url, "/api/v1/whoami", secret)
                results.append((started, status))
                if status == 200:
                    first_ok.set()

        threads = [threading.Thread(target=hammer, args=(event,)) for event in served]
        for thread in threads:
            thread.start()
        # The clock starts once every thread has had an answer: with more threads than workers,
        # both workers are warm by then, however slowly a loaded machine started them.
        for event in served:
            assert event.wait(30), "every hammering thread was answered before the revoke"
        services.key_revoke(key=key, actor=services.Actor(user_id=user.pk))
        revoked_at = time.monotonic()
        deadline = revoked_at + 30
        while sum(started > revoked_at for started, _ in results) < AFTER and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(10)

    after = [status for started, status in results if started > revoked_at]
    assert len(after) >= AFTER
    assert set(after) == {401}
