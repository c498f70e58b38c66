"""Client-IP attacks against real HTTP requests, through gunicorn on loopback.

The unit tables in tests/apikeys/test_client_ip.py cover the function itself; these tests show
that the served application reaches the same answers end to end, header lines as a real server
joins them. One server per configuration serves the whole module.
"""

import http.client
import json

import pytest

from tests.servers import app_server, call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.multiprocess]

TRUSTED = {"TRUSTED_PROXIES": "127.0.0.0/8"}


@pytest.fixture(scope="module")
def default_server(django_db_setup, django_db_blocker):
    """An app server with no trusted proxy, over the test database."""
    with django_db_blocker.unblock(), app_server() as url:
        yield url


@pytest.fixture(scope="module")
def proxied_server(django_db_setup, django_db_blocker):
    """An app server that trusts 127.0.0.0/8 as its proxies."""
    with django_db_blocker.unblock(), app_server(env=TRUSTED) as url:
        yield url


def raw_get(url, path, key, header_lines):
    """Send header lines exactly as given, repeated names included, which urllib cannot do."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("GET", path)
    connection.putheader("Authorization", f"Bearer {key}")
    for name, value in header_lines:
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


@pytest.fixture
def allowed_only_from_documentation_net(user, make_key):
    _, secret = make_key(user, allow=["203.0.113.0/24"])
    return secret


SPOOFS = [
    pytest.param([("X-Forwarded-For", "203.0.113.5")], id="xff-ignored-without-trusted-proxies"),
    pytest.param([("X-Real-IP", "203.0.113.5")], id="x-real-ip-never-read"),
    pytest.param([("Forwarded", "for=203.0.113.5")], id="forwarded-never-read"),
    pytest.param([("CF-Connecting-IP", "203.0.113.5")], id="cf-connecting-ip-never-read"),
    pytest.param([("X-Forwarded-For", "203.0.113.5"), ("X-Forwarded-For", "203.0.113.6")], id="several-lines-ignored"),
]


@pytest.mark.parametrize("headers", SPOOFS)
def test_spoofed_headers_do_not_pass_the_allowlist_by_default(
    default_server, allowed_only_from_documentation_net, headers
):
    status, body = raw_get(default_server, "/api/v1/whoami", allowed_only_from_documentation_net, headers)
    assert status == 403
    assert body["error"] == {
        "code": "IP_NOT_ALLOWED",
        "client_ip": "127.0.0.1",
        "message": "Requests from 127.0.0.1 are not allowed for this API key.",
    }


@pytest.mark.parametrize(
    "headers, expected",
    [
        pytest.param([("X-Forwarded-For", "203.0.113.5")], (200, "203.0.113.5"), id="trusted-peer-header-is-read"),
        pytest.param(
            [("X-Forwarded-For", "203.0.113.5, 198.51.100.1")],
            (403, "198.51.100.1"),
            id="spoofed-leftmost-loses-to-untrusted-hop-on-its-right",
        ),
        pytest.param(
            [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "203.0.113.5")],
            (200, "203.0.113.5"),
            id="several-lines-are-joined-in-order",
        ),
        pytest.param([("X-Forwarded-For", "203.0.113.5:4711")], (200, "203.0.113.5"), id="port-stripped"),
        pytest.param(
            [("X-Forwarded-For", "[::ffff:203.0.113.5]:443")], (200, "203.0.113.5"), id="bracketed-mapped-with-port"
        ),
        pytest.param(
            [("X-Forwarded-For", "junk, 203.0.113.5")],
            (200, "203.0.113.5"),
            id="junk-left-of-the-client-is-never-reached",
        ),
        pytest.param([("X-Forwarded-For", "203.0.113.5, junk")], (403, None), id="junk-on-the-walk-fails-closed"),
        pytest.param([("X-Forwarded-For", "2" * 5000)], (403, None), id="oversized-header-fails-closed"),
        pytest.param([("X-Real-IP", "203.0.113.5")], (403, None), id="trusted-peer-without-the-header-fails-closed"),
        pytest.param(
            [("X-Forwarded-For", "127.0.0.9, 127.0.0.8")], (403, "127.0.0.9"), id="all-hops-trusted-leftmost-wins"
        ),
    ],
)
def test_trusted_proxy_walk_over_http(proxied_server, allowed_only_from_documentation_net, headers, expected):
    status, body = raw_get(proxied_server, "/api/v1/whoami", allowed_only_from_documentation_net, headers)
    seen = body.get("client_ip") if status == 200 else body["error"]["client_ip"]
    assert (status, seen) == expected


def test_untrusted_peer_in_a_private_range_is_not_a_proxy(allowed_only_from_documentation_net):
    # 127.0.0.1 is private and local, yet only TRUSTED_PROXIES makes a peer a proxy.
    with app_server(env={"TRUSTED_PROXIES": "10.0.0.0/8"}) as url:
        status, body = raw_get(
            url, "/api/v1/whoami", allowed_only_from_documentation_net, [("X-Forwarded-For", "203.0.113.5")]
        )
    assert (status, body["error"]["client_ip"]) == (403, "127.0.0.1")


def test_dual_stack_server_sees_ipv4_clients_as_ipv4(user, make_key):
    _, secret = make_key(user, allow=["127.0.0.1"])
    with app_server(bind="::") as url:
        status, body = call(url, "/api/v1/whoami", secret)
    # The peer arrives as ::ffff:127.0.0.1 and must match 127.0.0.1/32.
    assert (status, body["client_ip"]) == (200, "127.0.0.1")


def test_dual_stack_mapped_peer_is_blocked_when_its_ipv4_is_not_listed(user, make_key):
    _, secret = make_key(user, allow=["2001:db8::/48"])
    with app_server(bind="::") as url:
        status, body = call(url, "/api/v1/whoami", secret)
    assert (status, body["error"]["client_ip"]) == (403, "127.0.0.1")
