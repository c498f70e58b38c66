"""gunicorn settings: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Usage logs are queued in memory and written in batches (usagelogs/recorder.py). A worker that
stops on SIGTERM, SIGINT or SIGQUIT, on ``max_requests`` or after a timeout writes its queue in
``worker_exit`` before it goes; an ``atexit`` handler is the second line. Only SIGKILL or a crash
loses rows: at most the last flush interval (1 s by default).

All three signals stop a worker gracefully: the request in flight finishes, is answered and is
logged; the arbiter still kills a worker that has not gone after ``graceful_timeout``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

from dotenv import load_dotenv

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

# The env file the operator named (ENV_FILE), read here too, so that BIND and WEB_CONCURRENCY
# may live in it beside the app's settings; the environment wins, as in config/settings.py.
if os.environ.get("ENV_FILE"):
    load_dotenv(os.environ["ENV_FILE"], override=False)

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Longer than a worst-case final flush: a batch write retried against a slow database.
graceful_timeout = 20


def post_worker_init(worker: Worker) -> None:
    """Make SIGQUIT and SIGINT stop the worker after its current request, as SIGTERM does.

    gunicorn's worker answers them with ``sys.exit()`` from the signal handler, which raises
    SystemExit inside the request being handled: the sync worker catches it and sends its own 500
    page, and the usage-log middleware never sees the request. ``handle_exit`` only marks the
    worker as no longer alive, so it leaves its loop once the request has been answered.
    """
    for stop_signal in (signal.SIGQUIT, signal.SIGINT):
        signal.signal(stop_signal, worker.handle_exit)
        signal.siginterrupt(stop_signal, False)


def worker_exit(server: Arbiter, worker: Worker) -> None:
    """Write any queued usage-log rows before the worker goes away.

    gunicorn also calls this hook in the arbiter, for a worker it found already gone. Nothing is
    queued there (the app, and so the recorder, was never loaded), so the hook does nothing.
    """
    module = sys.modules.get("usagelogs.recorder")
    if module is None:
        return
    try:
        pending = module.recorder.pending
        written = module.recorder.flush()
    except Exception:  # a failing flush must not stop the worker from exiting
        server.log.exception("Could not write queued usage logs on exit.")
        return
    if pending:
        server.log.info("Wrote %d queued usage-log rows on exit (pid %s).", written, worker.pid)
