"""Stopping gunicorn with SIGQUIT or SIGINT, like SIGTERM, lets a request in flight finish: the
client gets its answer and the usage log has its row."""

import signal
import threading
import time

import pytest

from tests.servers import app_process, call
from usagelogs.models import UsageLog

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]


@pytest.mark.parametrize(
    ("stop_signal", "log_mode"),
    [
        (signal.SIGQUIT, "sync"),
        (signal.SIGQUIT, "batch"),
        (signal.SIGINT, "sync"),
        (signal.SIGTERM, "batch"),
    ],
    ids=["SIGQUIT-sync", "SIGQUIT-batch", "SIGINT-sync", "SIGTERM-batch"],
)
def test_a_request_in_flight_finishes_and_is_logged(stop_signal, log_mode, user, make_key):
    _, secret = make_key(user)
    answers: list[tuple[int, dict]] = []
    with app_process(env={"LOG_MODE": log_mode}, settings={"ROOT_URLCONF": "tests.slow_urls"}) as (url, server):
        assert call(url, "/api/v1/whoami", secret)[0] == 200  # the worker is up, not only the socket
        client = threading.Thread(target=lambda: answers.append(call(url, "/api/v1/slow", secret)))
        client.start()
        time.sleep(0.7)  # the request is in the view now
        server.send_signal(stop_signal)
        client.join(15)
        assert server.wait(15) == 0
    assert answers == [(200, {"slept": 2.0})]
    row = UsageLog.objects.get(path="/api/v1/slow")  # written in the request (sync) or on exit (batch)
    assert (row.status_code, row.key_prefix) == (200, secret[3:11])
