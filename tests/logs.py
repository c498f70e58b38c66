"""Helpers for tests of the usage-log writer: a database outage stand-in and waiting for rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import OperationalError

from usagelogs.models import UsageLog


def wait_for_rows(expected: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    count = UsageLog.objects.count()
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = UsageLog.objects.count()
    return count


class Outage:
    """Every usage-log write fails as if the database were down, until ``end()``."""

    def __init__(self, real: Callable[[list[Any]], Any]) -> None:
        self.real, self.down = real, True
        self.attempts: list[int] = []

    def __call__(self, rows: list[Any]) -> Any:
        if self.down:
            self.attempts.append(len(rows))
            raise OperationalError("could not connect to server: Connection refused")
        return self.real(rows)

    def end(self) -> None:
        self.down = False
