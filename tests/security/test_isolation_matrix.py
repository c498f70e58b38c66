"""One workspace against another: every API endpoint and settings page that takes a key or entry
id answers 404 for the other workspace's objects and changes nothing; no list, page or CSV shows
the other workspace's rows, and filtering by the other workspace's key reveals none of them.

User A ("me") holds a key with every scope and a browser session in A's workspace. User B
("them") has a key in B's workspace, where A is not a member, with one allowlist entry, an audit
trail and usage logs from IP addresses that only B's traffic used.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from apikeys.models import AllowlistEntry, ApiKey, AuditEvent
from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db

MY_NAME = "alpha-ci-runner"
MY_IP = "192.0.2.10"
THEIR_NAME = "bravo-payroll-sync"
THEIR_ENTRY_IP = "203.0.113.77"
THEIR_ONLY_IP = "198.51.100.66"
UNOWNED_IP = "198.51.100.250"
PAGE_KEYS = "/settings/developer/keys"


@dataclass
class World:
    me: Any
    them: Any
    mine: ApiKey
    my_secret: str
    my_entry: AllowlistEntry
    theirs: ApiKey
    their_secret: str
    their_entry: AllowlistEntry


def key_client(secret: str, ip: str) -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(user: Any, other_user: Any, make_key: Any) -> World:
    mine, my_secret = make_key(user, name=MY_NAME, allow=[("192.0.2.0/24", "alpha office")])
    theirs, their_secret = make_key(other_user, name=THEIR_NAME, allow=[(THEIR_ENTRY_IP, "bravo office")])

    assert key_client(my_secret, MY_IP).get("/api/v1/whoami").status_code == 200
    # B's traffic: allowed from its entry, blocked from an address nobody else used, a wrong secret
    # under B's prefix, and a change that adds to B's audit trail.
    their_api = key_client(their_secret, THEIR_ENTRY_IP)
    assert their_api.get("/api/v1/whoami").status_code == 200
    assert their_api.patch(f"/api/v1/keys/{theirs.pk}", {"description": "payroll"}, format="json").status_code == 200
    assert key_client(their_secret, THEIR_ONLY_IP).get("/api/v1/keys").status_code == 403
    wrong = their_secret[:-8] + ("A" * 8 if not their_secret.endswith("A" * 8) else "B" * 8)
    assert key_client(wrong, THEIR_ONLY_IP).get("/api/v1/keys").status_code == 401
    assert APIClient(REMOTE_ADDR=UNOWNED_IP).get("/api/v1/keys", HTTP_X_API_KEY="kf_junk").status_code == 401

    assert UsageLog.objects.filter(workspace_id=theirs.workspace_id, client_ip=THEIR_ONLY_IP).count() >= 2
    assert UsageLog.objects.filter(workspace=None, client_ip=UNOWNED_IP).exists()
    return World(user, other_user, mine, my_secret, mine.entries.get(), theirs, their_secret, theirs.entries.get())


def snapshot(key: ApiKey) -> dict[str, Any]:
    """Every stored column of a key, its entries and its audit trail, and the table sizes."""
    return {
        "key": ApiKey.objects.filter(pk=key.pk).values().get(),
        "entries": list(AllowlistEntry.objects.filter(api_key_id=key.pk).order_by("id").values()),
        "events": list(AuditEvent.objects.filter(api_key_id=key.pk).order_by("id").values()),
        "counts": (ApiKey.objects.count(), AllowlistEntry.objects.count(), AuditEvent.objects.count()),
    }


# ---------------------------------------------------------------------------------------------
# The API matrix
# ---------------------------------------------------------------------------------------------

TAKEOVER = {"cidr": "192.0.2.66", "label": "pwned"}

API_CELLS = [
    pytest.param("get", "/api/v1/keys/{key}", None, id="GET keys/B"),
    pytest.param(
        "patch",
        "/api/v1/keys/{key}",
        {"name": "pwned", "description": "pwned", "scopes": ["keys:read"], "allowlist_mode": "report"},
        id="PATCH keys/B",
    ),
    pytest.param("delete", "/api/v1/keys/{key}", None, id="DELETE keys/B"),
    pytest.param("post", "/api/v1/keys/{key}/roll", {"grace_seconds": 3600}, id="POST keys/B/roll"),
    pytest.param("get", "/api/v1/keys/{key}/allowlist", None, id="GET keys/B/allowlist"),
    pytest.param(
        "put", "/api/v1/keys/{key}/allowlist", {"entries": [TAKEOVER], "mode": "report"}, id="PUT keys/B/allowlist"
    ),
    pytest.param("post", "/api/v1/keys/{key}/allowlist", TAKEOVER, id="POST keys/B/allowlist"),
    pytest.param("patch", "/api/v1/keys/{key}/allowlist/{entry}", TAKEOVER, id="PATCH keys/B/allowlist/B-entry"),
    pytest.param("delete", "/api/v1/keys/{key}/allowlist/{entry}", None, id="DELETE keys/B/allowlist/B-entry"),
    pytest.param("get", "/api/v1/keys/{key}/events", None, id="GET keys/B/events"),
    pytest.param("patch", "/api/v1/keys/{my_key}/allowlist/{entry}", TAKEOVER, id="PATCH keys/A/allowlist/B-entry"),
    pytest.param("delete", "/api/v1/keys/{my_key}/allowlist/{entry}", None, id="DELETE keys/A/allowlist/B-entry"),
]

SPELLINGS = {
    "canonical": str,
    "upper-case": lambda value: str(value).upper(),
    "no-dashes": lambda value: value.hex,
}


def api_client(world: World, auth: str) -> APIClient:
    if auth == "key":
        return key_client(world.my_secret, MY_IP)
    client = APIClient(REMOTE_ADDR=MY_IP)  # CSRF on session writes has its own tests
    client.force_login(world.me)
    return client


def fill(template: str, world: World, *, key: ApiKey, entry: AllowlistEntry, spell: Any = str) -> str:
    return template.format(key=spell(key.pk), entry=spell(entry.pk), my_key=spell(world.mine.pk))


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == "NOT_FOUND", body
    assert THEIR_NAME not in response.content.decode()


@pytest.mark.parametrize("auth", ["key", "session"], ids=["A-key", "A-session"])
@pytest.mark.parametrize(("method", "template", "body"), API_CELLS)
def test_api_cell_is_404_and_changes_nothing(world: World, auth: str, method: str, template: str, body: Any) -> None:
    before = snapshot(world.theirs)
    url = fill(template, world, key=world.theirs, entry=world.their_entry)
    response = getattr(api_client(world, auth), method)(url, body, format="json")
    assert_not_found(response)
    assert snapshot(world.theirs) == before


@pytest.mark.parametrize("spelling", ["upper-case", "no-dashes"])
@pytest.mark.parametrize(("method", "template", "body"), API_CELLS)
def test_api_cell_with_another_spelling_of_the_id_is_404(
    world: World, spelling: str, method: str, template: str, body: Any
) -> None:
    before = snapshot(world.theirs)
    url = fill(template, world, key=world.theirs, entry=world.their_entry, spell=SPELLINGS[spelling])
    response = getattr(api_client(world, "key"), method)(url, body, format="json")
    assert_not_found(response)
    assert snapshot(world.theirs) == before


@pytest.mark.parametrize(("method", "template", "body"), API_CELLS)
def test_api_cell_works_on_my_own_key(world: World, method: str, template: str, body: Any) -> None:
    """The control: the very same request on A's own objects succeeds, so each 404 above is about ownership.

    It signs in with the session: a key-authenticated request that removes the very entry it
    matched is not logged (see the test below).
    """
    url = fill(template, world, key=world.mine, entry=world.my_entry)
    response = getattr(api_client(world, "session"), method)(url, body, format="json")
    assert 200 <= response.status_code < 300, response.content[:500]
    if method != "get":
        assert AuditEvent.objects.filter(api_key=world.mine).count() > 1


# The row names an entry the request itself has just deleted; that must not cost the row.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        pytest.param(
            "put",
            "/api/v1/keys/{key}/allowlist",
            {"entries": [{"cidr": "192.0.2.0/25"}]},
            id="PUT allowlist without the matching entry",
        ),
        pytest.param("delete", "/api/v1/keys/{key}/allowlist/{entry}", None, id="DELETE the matching entry"),
    ],
)
def test_a_request_that_removes_its_own_matching_entry_is_still_logged(
    user: Any, make_key: Any, method: str, template: str, body: Any
) -> None:
    key, secret = make_key(user, name=MY_NAME, allow=[("192.0.2.0/24", "alpha office")])
    url = template.format(key=key.pk, entry=key.entries.get().pk)
    response = getattr(key_client(secret, MY_IP), method)(url, body, format="json")
    assert 200 <= response.status_code < 300
    assert not key.entries.filter(cidr="192.0.2.0/24").exists()
    assert UsageLog.objects.filter(api_key=key, method=method.upper(), status_code=response.status_code).exists()


# ---------------------------------------------------------------------------------------------
# The settings pages that take a key id (none takes an entry id)
# ---------------------------------------------------------------------------------------------

NONCE = "<nonce>"
EDITOR_POST = {
    "entries-TOTAL_FORMS": "1",
    "entries-INITIAL_FORMS": "0",
    "entries-0-cidr": "192.0.2.66",
    "entries-0-label": "pwned",
    "mode": "report",
}

PAGE_CELLS = [
    pytest.param("get", "allowlist", None, id="GET allowlist page of B"),
    pytest.param("post", "allowlist", EDITOR_POST, id="POST allowlist page of B (save)"),
    pytest.param(
        "post", "allowlist", {**EDITOR_POST, "row_action": "add:192.0.2.67"}, id="POST allowlist page of B (row button)"
    ),
    pytest.param("get", "roll", None, id="GET roll page of B"),
    pytest.param("post", "roll", {"grace_seconds": "3600", "nonce": NONCE}, id="POST roll page of B"),
    pytest.param("get", "revoke", None, id="GET revoke page of B"),
    pytest.param("post", "revoke", {}, id="POST revoke page of B"),
]


def browser(world: World) -> tuple[Client, str]:
    """A's signed-in session and a form nonce it was issued (the roll form needs one)."""
    client = Client()  # CSRF on these forms has its own tests
    client.force_login(world.me)
    page = client.get(f"{PAGE_KEYS}/{world.mine.pk}/roll/")
    assert page.status_code == 200
    return client, re.search(r'name="nonce" value="([^"]+)"', page.content.decode()).group(1)


def page_request(client: Client, nonce: str, method: str, url: str, data: Any) -> Any:
    if data is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, {name: nonce if value == NONCE else value for name, value in data.items()})


@pytest.mark.parametrize(("method", "page_name", "data"), PAGE_CELLS)
def test_page_cell_is_404_and_changes_nothing(world: World, method: str, page_name: str, data: Any) -> None:
    client, nonce = browser(world)
    before = snapshot(world.theirs)
    response = page_request(client, nonce, method, f"{PAGE_KEYS}/{world.theirs.pk}/{page_name}/", data)
    assert response.status_code == 404
    html = response.content.decode()
    assert THEIR_NAME not in html and world.theirs.prefix not in html
    assert snapshot(world.theirs) == before


@pytest.mark.parametrize(("method", "page_name", "data"), PAGE_CELLS)
def test_page_cell_works_on_my_own_key(world: World, method: str, page_name: str, data: Any) -> None:
    """The control: the same request on A's own key succeeds."""
    client, nonce = browser(world)
    response = page_request(client, nonce, method, f"{PAGE_KEYS}/{world.mine.pk}/{page_name}/", data)
    assert response.status_code in (200, 302)
    if method == "post" and "row_action" not in data:
        assert AuditEvent.objects.filter(api_key=world.mine).count() > 1


def test_the_whole_matrix_in_one_go_leaves_the_other_owner_untouched(world: World) -> None:
    before = snapshot(world.theirs)
    for auth in ("key", "session"):
        client = api_client(world, auth)
        for cell in API_CELLS:
            method, template, body = cell.values
            response = getattr(client, method)(
                fill(template, world, key=world.theirs, entry=world.their_entry), body, format="json"
            )
            assert response.status_code == 404, (auth, cell.id)
    client, nonce = browser(world)
    for cell in PAGE_CELLS:
        method, page_name, data = cell.values
        response = page_request(client, nonce, method, f"{PAGE_KEYS}/{world.theirs.pk}/{page_name}/", data)
        assert response.status_code == 404, cell.id
    assert snapshot(world.theirs) == before
    theirs = ApiKey.objects.get(pk=world.theirs.pk)
    assert (theirs.name, theirs.revoked_at, theirs.allowlist_mode) == (THEIR_NAME, None, "enforce")
    assert key_client(world.their_secret, THEIR_ENTRY_IP).get("/api/v1/whoami").status_code == 200


# ---------------------------------------------------------------------------------------------
# Lists, pages and CSVs
# ---------------------------------------------------------------------------------------------


def their_traces(world: World) -> list[str]:
    return [THEIR_NAME, world.theirs.prefix, str(world.theirs.pk), THEIR_ONLY_IP, THEIR_ENTRY_IP, UNOWNED_IP]


def _csv_text(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def _read(world: World, source: str, query: str = "") -> tuple[Any, str]:
    if source.startswith("api"):
        client = key_client(world.my_secret, MY_IP)
        path = {"api-keys": "/api/v1/keys", "api-logs": "/api/v1/usage-logs", "api-csv": "/api/v1/usage-logs/export"}[
            source
        ]
        response = client.get(path + query)
        text = _csv_text(response) if response.streaming else response.content.decode()
        return response, text
    client = Client()
    client.force_login(world.me)
    path = {
        "developer-page": "/settings/developer/",
        "logs-page": "/settings/developer/logs/",
        "my-allowlist-page": f"{PAGE_KEYS}/{world.mine.pk}/allowlist/",
    }[source]
    response = client.get(path + query)
    return response, response.content.decode()


@pytest.mark.parametrize(
    ("source", "mine_shown"),
    [
        pytest.param("api-keys", [MY_NAME, MY_IP], id="GET /api/v1/keys holds only A's keys"),
        pytest.param("api-logs", [MY_NAME, MY_IP], id="GET /api/v1/usage-logs holds only A's rows"),
        pytest.param("api-csv", [MY_NAME, MY_IP], id="GET /api/v1/usage-logs/export holds only A's rows"),
        pytest.param("developer-page", [MY_NAME, MY_IP], id="developer page shows only A's keys"),
        pytest.param("logs-page", [MY_NAME, MY_IP], id="logs page shows only A's rows"),
        pytest.param("my-allowlist-page", [MY_NAME], id="A's allowlist page shows nothing of B"),
    ],
)
def test_lists_pages_and_csv_hold_none_of_the_other_owners_rows(
    world: World, source: str, mine_shown: list[str]
) -> None:
    response, text = _read(world, source)
    assert response.status_code == 200
    for trace in mine_shown:
        assert trace in text, f"{source} should show A's {trace}"
    assert world.mine.prefix in text
    for trace in their_traces(world):
        assert trace not in text, f"{source} shows B's {trace}"


def test_the_csv_rows_are_all_my_own(world: World) -> None:
    _response, text = _read(world, "api-csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert {row["key_prefix"] for row in rows} == {world.mine.prefix}
    assert {row["key_name"] for row in rows} == {MY_NAME}


@pytest.mark.parametrize("source", ["api-logs", "api-csv", "logs-page"])
@pytest.mark.parametrize("param", ["api_key", "client_ip-their-only-ip", "client_ip-their-entry-ip"])
def test_filtering_my_logs_by_their_key_or_ip_reveals_nothing(world: World, source: str, param: str) -> None:
    value = {
        "api_key": str(world.theirs.pk),
        "client_ip-their-only-ip": THEIR_ONLY_IP,
        "client_ip-their-entry-ip": THEIR_ENTRY_IP,
    }[param]
    query = f"?{param.split('-')[0]}={value}"
    response, text = _read(world, source, query)
    assert response.status_code in (200, 400), text[:500]
    # The page echoes the filter it was given; anything else of B's must be absent.
    for trace in their_traces(world):
        assert trace == value or trace not in text, f"{source}{query} shows B's {trace}"
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    elif source == "api-logs":
        assert response.json()["results"] == []
    elif source == "api-csv":
        assert len(list(csv.reader(io.StringIO(text)))) == 1  # the header row alone
    else:
        assert 'data-log-id="' not in text


def test_their_key_is_not_a_choice_in_my_logs_filter(world: World) -> None:
    _, html = _read(world, "logs-page")
    assert f'value="{world.mine.pk}"' in html
    assert f'value="{world.theirs.pk}"' not in html
