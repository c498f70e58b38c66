"""With the database unreachable, a real app server answers 503: the JSON envelope under /api/,
a plain page elsewhere, never a 500 and never a page that needs the database to render."""

import urllib.error
import urllib.request

import pytest

from apikeys.secrets import generate_key, generate_prefix
from tests.servers import app_server, call, free_port

pytestmark = pytest.mark.multiprocess


@pytest.fixture(params=["postgresql-closed-port", "sqlite-missing-folder"])
def unreachable_database(request) -> str:
    if request.param == "postgresql-closed-port":
        return f"postgres://postgres@127.0.0.1:{free_port()}/keyfence"
    return "sqlite:////nonexistent-keyfence-folder/db.sqlite3"


def page(url: str, path: str) -> tuple[int, str, str]:
    """GET a page with a session cookie, so that reading the user needs the database."""
    request = urllib.request.Request(url + path, headers={"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_a_database_outage_answers_503(unreachable_database):
    secret = generate_key(generate_prefix())  # well formed, so the lookup reaches the database
    with app_server(env={"DATABASE_URL": unreachable_database}) as url:
        status, body = call(url, "/api/v1/whoami", secret)
        assert status == 503
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE" and body["error"]["message"]
        status, body = call(url, "/api/v1/keys", secret, method="POST", headers={"Content-Type": "application/json"})
        assert (status, body["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
        for path in ["/settings/developer/", "/accounts/login/"]:
            status, content_type, text = page(url, path)
            assert (status, content_type.split(";")[0]) == (503, "text/html"), path
            assert "Keyfence is briefly unavailable" in text and "Server Error" not in text
