"""The one writer of usage logs.

In ``batch`` mode (the default) a request only appends its row to an in-memory queue; one
background thread per process writes the queue in batches: as soon as ``KEYFENCE_LOG_BATCH_SIZE``
rows wait, and otherwise every ``KEYFENCE_LOG_FLUSH_INTERVAL`` seconds.

- A graceful stop loses nothing: the gunicorn ``worker_exit`` hook and an ``atexit`` handler call
  :meth:`Recorder.flush`, which first waits for the batch the thread may be writing.
- A hard crash (SIGKILL, OOM kill, power loss) loses the rows still queued: at most one flush
  interval of requests, plus a batch being written.
- ``sync`` mode writes each row before the response is returned, for deployments that must never
  lose a row, at the price of one ``INSERT`` per request.

A failed write never reaches the client: it is retried with a short backoff, then reported
through the ``keyfence.usagelogs`` logger, and its rows go back to the front of the queue for the
next flush. An outage of the log database therefore loses no rows until the queue holds
``KEYFENCE_LOG_MAX_QUEUE`` of them; only then, or at exit with the database still down, are rows
dropped and counted.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from typing import Any

from django.db import IntegrityError, connections, router

from .conf import conf
from .inserts import insert_rows, without_vanished_references
from .models import UsageLog
from .signals import announce_blocks

logger = logging.getLogger("keyfence.usagelogs")


class Recorder:
    """Queue rows and write them in batches from one daemon thread per process."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also runs in a forked child: rows queued by the parent are the parent's to write.
        self._rows: deque[dict[str, Any]] = deque()
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    def record(self, row: dict[str, Any]) -> None:
        """Record one request; never raises, never waits for the database in batch mode."""
        if conf.LOG_MODE == "sync" and self._write([row], requeue=False) is not None:
            return
        # Batch mode, or a synchronous write that failed: the writer thread retries it.
        rows = self._rows
        if len(rows) >= conf.LOG_MAX_QUEUE:
            self._drop(1)
            return
        rows.append(row)
        thread = self._thread
        if thread is None:
            self._start()
        if len(rows) >= conf.LOG_BATCH_SIZE:
            if thread is not None and not thread.is_alive():
                self._start()
            self._wake.set()

    def flush(self) -> int:
        """Write every queued row now, in the calling thread; returns the number written.

        It first waits for the batch the background thread may be writing, so that when it
        returns every row recorded before the call is in the database (or reported lost).
        """
        return self._drain(full_batches_only=False)

    def _drain(self, *, full_batches_only: bool) -> int:
        size, written = conf.LOG_BATCH_SIZE, 0
        with self._write_lock:
            while len(self._rows) >= (size if full_batches_only else 1):
                batch = self._take(size)
                done = self._write(batch, requeue=True)
                if done is None:  # the database refused; the rows wait for the next flush
                    return written
                written += done
        return written

    def stop(self, timeout: float | None = 10.0) -> None:
        """Flush, then end the background thread and close its connection.

        The next :meth:`record` starts a new thread. For tests and benchmarks.
        """
        thread = self._thread
        if thread is not None:
            self._stopped.set()
            self._wake.set()
            thread.join(timeout)
        with self._start_lock:
            self._thread = None
        self.flush()

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        return len(self._rows)

    def _take(self, size: int) -> list[dict[str, Any]]:
        rows = self._rows
        batch: list[dict[str, Any]] = []
        try:
            while len(batch) < size:
                batch.append(rows.popleft())
        except IndexError:
            pass
        return batch

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopped = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stopped,), name="keyfence-usagelog", daemon=True
            )
            self._thread.start()

    def _run(self, stopped: threading.Event) -> None:
        try:
            while not stopped.is_set():
                try:
                    self._tick()
                except Exception:  # the writer must outlive any surprise
                    logger.exception("Usage-log writer failed; retrying.")
                    time.sleep(1.0)
            self.flush()
        finally:
            connections.close_all()

    def _tick(self) -> None:
        woken = self._wake.wait(conf.LOG_FLUSH_INTERVAL)
        self._wake.clear()
        if woken:
            # A full batch is waiting. Rows that arrive while it is written wait for the next
            # full batch or the interval, so that batches stay full under load.
            self._drain(full_batches_only=True)
        elif self._rows:
            self.flush()
        else:
            # Idle for a whole interval: give the connection back rather than hold it open.
            connections[router.db_for_write(UsageLog)].close()

    def _drop(self, count: int) -> None:
        self.dropped += count
        if self.dropped == count or self.dropped % 1000 < count:
            logger.error("Usage-log queue full; %d rows dropped so far.", self.dropped)

    def _write(self, rows: list[dict[str, Any]], *, requeue: bool) -> int | None:
        """Write ``rows``, retrying with backoff; never raises.

        Returns how many were written, or ``None`` if the database kept refusing: the rows not
        written then go back to the front of the queue when ``requeue`` is set.
        """
        retries, pending, written = conf.LOG_WRITE_RETRIES, list(rows), [0]
        for attempt in range(retries + 1):
            try:
                self._insert(pending, written)
                return written[0]
            except Exception as exc:  # noqa: BLE001 - a log write must never fail the request
                if attempt == retries:
                    logger.error(
                        "Could not write %d usage-log rows after %d attempts: %s", len(pending), retries + 1, exc
                    )
                    if requeue:
                        self._requeue(pending)
                    return None
                logger.warning("Usage-log write failed (attempt %d of %d): %s", attempt + 1, retries + 1, exc)
                self._reset_connection()
                time.sleep(min(0.05 * 2**attempt, 1.0))
        return written[0]

    def _requeue(self, rows: list[dict[str, Any]]) -> None:
        room = max(conf.LOG_MAX_QUEUE - len(self._rows), 0)
        kept = rows[:room]
        self._rows.extendleft(reversed(kept))
        if len(kept) < len(rows):
            self._drop(len(rows) - len(kept))

    def _insert(self, pending: list[dict[str, Any]], written: list[int]) -> None:
        # Rows leave ``pending`` once written or dropped, so that a retry never writes one twice.
        try:
            insert_rows(pending)
        except IntegrityError:
            # A row refers to something deleted since its request: one bad row must not take
            # its whole batch down with it.
            while pending:
                written[0] += self._insert_alone(pending[0])
                del pending[0]
            return
        written[0] += len(pending)
        announce_blocks(pending)
        pending.clear()

    def _insert_alone(self, row: dict[str, Any]) -> int:
        for candidate in (row, without_vanished_references(row)):
            try:
                insert_rows([candidate])
                announce_blocks([candidate])
                return 1
            except IntegrityError:
                continue
        # Only the workspace is left, and a deleted workspace's rows are deleted with it (CASCADE).
        self.dropped += 1
        logger.warning("Dropped a usage-log row of a deleted workspace: %s %s", row.get("method"), row.get("path"))
        return 0

    @staticmethod
    def _reset_connection() -> None:
        connection = connections[router.db_for_write(UsageLog)]
        if not connection.in_atomic_block:
            connection.close()


recorder = Recorder()


def _flush_at_exit() -> None:
    recorder.flush()
    if recorder.pending:
        logger.error("%d usage-log rows could not be written before exit.", recorder.pending)


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=recorder._reset)
