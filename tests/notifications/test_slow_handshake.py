"""A receiver that feeds its TLS handshake a byte at a time cannot hold a worker past the timeout:
the handshake has one deadline for all its reads (CPython's ssl module), not one per read."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from notifications.sender import post


@pytest.fixture
def dripping_server() -> Iterator[int]:
    """Accepts, then sends the start of a TLS record one byte every 0.3 s, for a minute."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(10)
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        # A handshake record header announcing 16 KB, then its body, slowly.
        for byte in b"\x16\x03\x03\x40\x00" + b"\x02" * 200:
            if stop.wait(0.3):
                break
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                break
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_a_dripping_handshake_ends_the_attempt_at_the_timeout(dripping_server: int, settings: Any) -> None:
    settings.KEYFENCE_WEBHOOK_ALLOW_PRIVATE = True
    settings.KEYFENCE_WEBHOOK_TIMEOUT = 1.0
    started = time.monotonic()
    outcome = post(f"https://127.0.0.1:{dripping_server}/hook", b"{}", {"Content-Type": "application/json"})
    took = time.monotonic() - started
    assert outcome.status_code is None and "within 1 s" in outcome.error
    assert took < 3, f"the worker was held for {took:.1f} s"
