"""Exact counting across servers (SPEC §18): two app servers share Redis, and a burst of 40
concurrent requests spread over both lets exactly the limit through."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack

import pytest

from tests.servers import app_server, call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]


def whoami(url: str, secret: str) -> tuple[int, str]:
    """One request, with room for a busy machine: a timeout would count as neither answer."""
    request = urllib.request.Request(url + "/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}").get("error", {}).get("code", "")


def burst(urls: list[str], secret: str, count: int) -> list[tuple[int, str]]:
    """``count`` requests at once, alternating between the servers; each answer's status and code."""
    barrier = threading.Barrier(count)
    answers: list[tuple[int, str]] = [(0, "")] * count

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = whoami(urls[i % len(urls)], secret)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


@pytest.mark.parametrize(
    "limits, code",
    [
        pytest.param({"rate_limit": {"requests": 10, "per": "minute"}}, "RATE_LIMITED", id="rate-limit"),
        pytest.param({"monthly_quota": 10}, "QUOTA_EXCEEDED", id="monthly-quota"),
    ],
)
def test_forty_concurrent_requests_over_two_servers_give_exactly_ten_successes(
    user, make_key, shared_cache, limits, code
):
    _, secret = make_key(user, **limits)
    with ExitStack() as stack:
        urls = [stack.enter_context(app_server(workers=2, env=shared_cache)) for _ in range(2)]
        answers = burst(urls, secret, 40)
        after = call(urls[0], "/api/v1/whoami", secret)[0]

    assert Counter(answers) == {(200, ""): 10, (429, code): 30}
    assert after == 429, "the request after the last allowed one is refused at once"


def test_without_redis_each_server_counts_alone(user, make_key, local_cache):
    _, secret = make_key(user, monthly_quota=3)
    with ExitStack() as stack:
        urls = [stack.enter_context(app_server(workers=1, env=local_cache)) for _ in range(2)]
        answers = [call(url, "/api/v1/whoami", secret)[0] for url in urls for _ in range(4)]

    # As the docs say: without Redis, each process has its own count.
    assert answers == [200, 200, 200, 429] * 2
