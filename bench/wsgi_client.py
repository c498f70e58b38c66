"""Call Django's WSGI handler directly: no test client, no sockets, the same for every variant."""

from __future__ import annotations

import io
import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def make_request(path: str, remote_addr: str, headers: dict[str, str] | None = None) -> Callable[[], int]:
    """A function that sends ``GET path`` through Django and returns the status code."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": "keyfence-bench/1.0",
        "REMOTE_ADDR": remote_addr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **(headers or {}),
    }
    statuses: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def call() -> int:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(b"")
        result = handler(environ, start_response)
        try:
            for _ in result:
                pass
        finally:
            result.close()  # fires request_finished, as a real server does
        return int(statuses.pop()[:3])

    return call


@contextmanager
def count_queries() -> Iterator[Callable[[], int]]:
    """Count SQL statements on every connection of every thread, the log writer's included."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    from usagelogs.recorder import recorder

    counter = itertools.count()
    seen = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen[0] = next(counter) + 1
        return execute(sql, params, many, context)

    def attach(sender: Any, connection: Any, **kwargs: Any) -> None:
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    # The writer thread is restarted, so that its new connection gets the wrapper too.
    recorder.stop()
    connection_created.connect(attach)
    attach(None, connection)
    try:
        yield lambda: seen[0]
    finally:
        recorder.stop()
        connection_created.disconnect(attach)
        if wrapper in connection.execute_wrappers:
            connection.execute_wrappers.remove(wrapper)
