"""The default database settings: a worker thread keeps its connection from request to request."""

import io
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.db.backends.signals import connection_created

from config.settings import database_config


@pytest.mark.parametrize(
    "url", ["sqlite:////tmp/keyfence.sqlite3", "postgres://kf@127.0.0.1:5432/kf"], ids=["sqlite", "postgres"]
)
def test_every_engine_keeps_connections_with_health_checks(url):
    config = database_config(url)
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (60, True)


def test_default_is_sqlite_in_wal_mode():
    config = database_config(None)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "PRAGMA journal_mode=WAL" in config["OPTIONS"]["init_command"]


def call(handler, secret):
    """One request as a sync server worker sends it: request_started and request_finished fire."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/whoami",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {secret}",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    result = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    result.close()
    return statuses[0]


@pytest.mark.django_db(transaction=True)
def test_a_worker_thread_reuses_its_connection_and_its_pragmas(user, make_key):
    _, secret = make_key(user)
    handler = WSGIHandler()
    assert call(handler, secret).startswith("200")  # may replace a connection older than 60 s
    opened = []

    def created(sender, connection, **kwargs):
        opened.append(connection.alias)

    connection_created.connect(created)
    try:
        for _ in range(3):
            assert call(handler, secret).startswith("200")
    finally:
        connection_created.disconnect(created)
    assert opened == [] and connection.connection is not None
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 1  # NORMAL, set per connection by init_command
