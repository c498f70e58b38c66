"""gunicorn settings: ``gunicorn -c config/gunicorn.conf.py config.wsgi``."""
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
graceful_timeout = 20


def worker_exit(server, worker):  # noqa: ANN001, ARG001
    """Write any queued usage-log rows before the worker goes away."""
    from usagelogs.recorder import recorder

    recorder.flush()
