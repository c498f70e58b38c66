"""The one writer of usage logs.

In ``batch`` mode (the default) rows are queued and written by a background thread with one
``INSERT`` per batch: at ``KEYFENCE_LOG_BATCH_SIZE`` rows or every ``KEYFENCE_LOG_FLUSH_INTERVAL``
seconds, whichever comes first. The queue is flushed at interpreter exit and by the gunicorn
``worker_exit`` hook, so a graceful stop loses nothing; a hard crash can lose the rows of the
last interval. ``sync`` mode writes each row before the response is returned.
A failed write never reaches the client: it is retried, then reported through logging.
"""
from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from typing import Any

from django.db import close_old_connections, connections, transaction

from .conf import conf
from .models import UsageLog

logger = logging.getLogger("keyfence.usagelogs")


class Recorder:
    """Queue rows and write them in batches from one daemon thread per process."""

    def __init__(self) -> None:
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.dropped = 0

    def record(self, row: dict[str, Any]) -> None:
        """Record one request; never raises."""
        if conf.LOG_MODE == "sync":
            self._write([row])
            return
        if self._queue.qsize() >= conf.LOG_MAX_QUEUE:
            self.dropped += 1
            logger.error("Usage-log queue full; dropped a row (%d dropped so far).", self.dropped)
            return
        self._queue.put(row)
        self._ensure_thread()
        if self._queue.qsize() >= conf.LOG_BATCH_SIZE:
            self._wake.set()

    def flush(self) -> int:
        """Write everything queued now, in the calling thread; returns the rows written."""
        written = 0
        while True:
            batch = self._take(conf.LOG_BATCH_SIZE)
            if not batch:
                return written
            written += self._write(batch)

    def _take(self, size: int) -> list[dict[str, Any]]:
        batch = []
        while len(batch) < size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="keyfence-usagelog", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(conf.LOG_FLUSH_INTERVAL)
            self._wake.clear()
            try:
                self.flush()
            finally:
                close_old_connections()

    def _write(self, rows: list[dict[str, Any]]) -> int:
        retries = conf.LOG_WRITE_RETRIES
        for attempt in range(retries + 1):
            try:
                with transaction.atomic():
                    UsageLog.objects.bulk_create([UsageLog(**row) for row in rows])
                return len(rows)
            except Exception as exc:  # a log write must never fail the request
                if attempt == retries:
                    self.dropped += len(rows)
                    logger.error("Could not write %d usage-log rows after %d attempts: %s", len(rows), retries + 1, exc)
                    return 0
                self._reset_connection()
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
        return 0

    @staticmethod
    def _reset_connection() -> None:
        connection = connections[UsageLog.objects.db]
        if not connection.in_atomic_block:
            connection.close()


recorder = Recorder()
atexit.register(recorder.flush)
