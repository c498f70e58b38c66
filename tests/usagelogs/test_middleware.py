"""UsageLogMiddleware on its own: what is recorded, and what is never recorded (SPEC §5).

The test settings write each row at once (KEYFENCE_LOG_MODE "sync"), so a row can be read as
soon as the middleware returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from apikeys import usage
from apikeys.context import key_context
from apikeys.networks import parse_client_address, sortable_key
from tests.usagelogs.helpers import personal, session_request, team_of
from usagelogs import middleware
from usagelogs.middleware import MAX_PATH, MAX_USER_AGENT, UsageLogMiddleware
from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db

UNKNOWN_PREFIX = "zz9zz9zz"


def answer(status: int = 200, *, then: Callable[[HttpRequest], None] | None = None) -> Callable[..., HttpResponse]:
    """A ``get_response`` stub: runs ``then`` on the request (what inner layers would do), answers ``status``."""

    def get_response(request: HttpRequest) -> HttpResponse:
        if then is not None:
            then(request)
        return HttpResponse(status=status)

    return get_response


def through(request: HttpRequest, get_response: Callable[..., HttpResponse] | None = None) -> HttpResponse:
    return UsageLogMiddleware(get_response or answer())(request)


def only_row() -> UsageLog:
    rows = list(UsageLog.objects.all())
    assert len(rows) == 1, rows
    return rows[0]


def authenticated_as(key: Any, *, decision: str = "allowed", **fields: Any) -> Callable[[HttpRequest], None]:
    """What key authentication leaves on the request when it accepts ``key``."""

    def authenticate(request: HttpRequest) -> None:
        context = key_context(request)
        context.authenticated = True
        context.key_prefix = key.prefix
        context.key_id = key.pk
        context.workspace_id = key.workspace_id
        context.decision = decision
        for name, value in fields.items():
            setattr(context, name, value)

    return authenticate


# --- which paths -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="root"),
        pytest.param("/settings/developer/", id="settings-page"),
        pytest.param("/settings/developer/logs/", id="logs-page"),
        pytest.param("/admin/", id="admin"),
        pytest.param("/api", id="api-without-slash"),
        pytest.param("/apiary/v1/keys", id="starts-with-api-letters"),
        pytest.param("/static/api/v1/keys", id="api-further-down"),
    ],
)
def test_a_path_outside_the_api_is_not_recorded(path: str) -> None:
    response = through(RequestFactory().get(path), answer(200))
    assert response.status_code == 200
    assert UsageLog.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/schema", id="schema"),
        pytest.param("/api/v1/schema/", id="schema-slash"),
        pytest.param("/api/v1/docs", id="docs"),
        pytest.param("/api/v1/docs/", id="docs-slash"),
    ],
)
def test_the_schema_and_the_docs_are_not_recorded(path: str) -> None:
    response = through(RequestFactory().get(path, HTTP_X_API_KEY=f"kf_{UNKNOWN_PREFIX}_x"), answer(200))
    assert response.status_code == 200
    assert UsageLog.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/schemas", id="schemas"),
        pytest.param("/api/v1/schema-v2", id="schema-dash-v2"),
        pytest.param("/api/v1/docsearch", id="docsearch"),
    ],
)
def test_a_path_that_only_starts_like_the_schema_or_the_docs_is_recorded(path: str) -> None:
    """SPEC §5: every request under /api/ is recorded; only the schema and the docs are not."""
    through(RequestFactory().get(path), answer(404))
    assert list(UsageLog.objects.values_list("path", "status_code")) == [(path, 404)]


@pytest.mark.parametrize("status", [200, 201, 204, 302, 400, 401, 403, 404, 429, 500, 503])
def test_every_outcome_under_the_api_is_recorded_with_its_status(status: int) -> None:
    response = through(RequestFactory().get("/api/v1/keys"), answer(status))
    assert response.status_code == status
    assert only_row().status_code == status


# --- which key and workspace ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_a_valid_key_is_recorded_even_when_authentication_never_ran(header: str, user: Any, make_key: Any) -> None:
    key, secret = make_key(user)
    extra = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if header == "bearer" else {"HTTP_X_API_KEY": secret}
    through(RequestFactory().get("/api/v1/no-such-endpoint", **extra), answer(404))
    row = only_row()
    assert (row.key_prefix, row.api_key_id, row.workspace_id) == (key.prefix, key.pk, key.workspace_id)
    assert (row.decision, row.status_code) == ("none", 404)


@pytest.mark.parametrize(
    ("presented", "prefix"),
    [
        pytest.param(f"kf_{UNKNOWN_PREFIX}_{'A' * 38}", UNKNOWN_PREFIX, id="well-formed-unknown-key"),
        pytest.param(f"kf_{UNKNOWN_PREFIX}_short", UNKNOWN_PREFIX, id="well-formed-prefix-bad-body"),
        pytest.param(f"kf_{UNKNOWN_PREFIX}_", UNKNOWN_PREFIX, id="well-formed-prefix-no-body"),
        pytest.param("kf_ZZ9ZZ9ZZ_" + "A" * 38, "", id="upper-case-prefix"),
        pytest.param("kf_zz9zz_" + "A" * 38, "", id="short-prefix"),
        pytest.param("kf_zz9zz9zz9_" + "A" * 38, "", id="long-prefix"),
        pytest.param(f"kf_{UNKNOWN_PREFIX}", "", id="no-separator"),
        pytest.param(f"KF_{UNKNOWN_PREFIX}_" + "A" * 38, "", id="upper-case-kf"),
        pytest.param("sk_live_0123456789", "", id="another-vendor-s-key"),
        pytest.param("", "", id="empty"),
    ],
)
def test_a_malformed_key_records_its_prefix_only_when_well_formed(presented: str, prefix: str) -> None:
    through(RequestFactory().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {presented}"), answer(401))
    row = only_row()
    assert (row.key_prefix, row.api_key_id, row.workspace_id) == (prefix, None, None)


def test_a_wrong_secret_with_a_known_prefix_names_that_key_and_its_workspace(user: Any, make_key: Any) -> None:
    key, secret = make_key(user)
    wrong = secret[:-6] + ("AAAAAA" if not secret.endswith("AAAAAA") else "BBBBBB")
    through(RequestFactory().get("/api/v1/whoami", HTTP_X_API_KEY=wrong), answer(401))
    row = only_row()
    assert (row.key_prefix, row.api_key_id, row.workspace_id) == (key.prefix, key.pk, key.workspace_id)


def test_what_authentication_learned_is_recorded(user: Any, make_key: Any) -> None:
    key, secret = make_key(user, allow=["203.0.113.0/24"])
    entry = key.entries.get()
    request = RequestFactory().get("/api/v1/whoami", HTTP_X_API_KEY=secret, REMOTE_ADDR="198.51.100.7")
    through(
        request,
        answer(403, then=authenticated_as(key, decision="blocked", error_code="IP_NOT_ALLOWED")),
    )
    row = only_row()
    assert (row.api_key_id, row.workspace_id, row.decision, row.error_code) == (
        key.pk,
        key.workspace_id,
        "blocked",
        "IP_NOT_ALLOWED",
    )
    assert row.matched_entry_id is None
    UsageLog.objects.all().delete()

    request = RequestFactory().get("/api/v1/whoami", HTTP_X_API_KEY=secret, REMOTE_ADDR="203.0.113.9")
    through(
        request,
        answer(200, then=authenticated_as(key, matched_entry_id=entry.pk, matched_cidr="203.0.113.0/24")),
    )
    row = only_row()
    assert (row.decision, row.matched_entry_id, row.matched_cidr) == ("allowed", entry.pk, "203.0.113.0/24")


def signed_in_as(user: Any) -> Callable[[HttpRequest], None]:
    """What session authentication leaves on the request: the user (the session is there already)."""

    def sign_in(request: HttpRequest) -> None:
        request.user = user

    return sign_in


def test_a_signed_in_user_without_a_key_is_recorded_in_their_current_workspace(user: Any) -> None:
    through(session_request(user, "/api/v1/keys"), answer(200, then=signed_in_as(user)))
    row = only_row()
    assert (row.workspace_id, row.api_key_id, row.key_prefix) == (personal(user).pk, None, "")


def test_a_session_acting_in_a_team_workspace_is_recorded_there(user: Any) -> None:
    team = team_of(user)
    through(session_request(user, "/api/v1/keys", workspace=team), answer(200, then=signed_in_as(user)))
    assert only_row().workspace_id == team.pk


def test_a_session_whose_workspace_cannot_be_read_is_still_recorded(
    user: Any, monkeypatch: pytest.MonkeyPatch, log_records: list[Any]
) -> None:
    def down(request: HttpRequest) -> Any:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(middleware, "current_membership", down)
    response = through(session_request(user, "/api/v1/keys"), answer(200, then=signed_in_as(user)))
    assert response.status_code == 200
    row = only_row()
    assert (row.workspace_id, row.path) == (None, "/api/v1/keys")
    assert [r.levelname for r in log_records] == ["WARNING"]


def test_a_signed_in_user_sending_a_key_of_another_workspace_records_the_key_s_workspace(
    user: Any, other_user: Any, make_key: Any
) -> None:
    key, secret = make_key(other_user)
    request = session_request(user, "/api/v1/keys")
    request.META["HTTP_X_API_KEY"] = secret
    through(request, answer(404, then=signed_in_as(user)))
    row = only_row()
    assert (row.workspace_id, row.api_key_id) == (personal(other_user).pk, key.pk)


def test_a_signed_in_user_sending_an_unknown_key_is_recorded_in_no_workspace(user: Any) -> None:
    request = session_request(user, "/api/v1/keys")
    request.META["HTTP_X_API_KEY"] = f"kf_{UNKNOWN_PREFIX}_{'A' * 38}"
    through(request, answer(401, then=signed_in_as(user)))
    row = only_row()
    assert (row.workspace_id, row.api_key_id, row.key_prefix) == (None, None, UNKNOWN_PREFIX)


def test_an_anonymous_request_without_a_key_has_no_workspace() -> None:
    through(RequestFactory().get("/api/v1/keys"), answer(401))
    row = only_row()
    assert (row.workspace_id, row.api_key_id, row.key_prefix, row.decision) == (None, None, "", "none")


# --- what is never recorded -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_the_secret_the_headers_and_the_query_string_never_reach_the_row(header: str, user: Any, make_key: Any) -> None:
    key, secret = make_key(user)
    extra = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if header == "bearer" else {"HTTP_X_API_KEY": secret}
    query = "token=query-secret-value&cursor=abc"
    request = RequestFactory().get(f"/api/v1/usage-logs?{query}", HTTP_USER_AGENT="curl/8.5.0", **extra)
    through(request, answer(200, then=authenticated_as(key)))
    row = only_row()
    assert row.path == "/api/v1/usage-logs"
    assert row.key_prefix == key.prefix
    stored = " ".join(str(getattr(row, field.attname)) for field in UsageLog._meta.concrete_fields)
    for forbidden in (secret, secret.rsplit("_", 1)[1], "Bearer", "query-secret-value", "token=", "cursor"):
        assert forbidden not in stored


# --- lengths, timing, method ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "kept"),
    [
        pytest.param(MAX_PATH - 1, MAX_PATH - 1, id="under"),
        pytest.param(MAX_PATH, MAX_PATH, id="exactly"),
        pytest.param(MAX_PATH + 1, MAX_PATH, id="one-over"),
        pytest.param(5000, MAX_PATH, id="far-over"),
    ],
)
def test_the_path_is_cut_at_2048_characters(length: int, kept: int) -> None:
    path = "/api/v1/" + "p" * (length - len("/api/v1/"))
    through(RequestFactory().get(path), answer(404))
    stored = only_row().path
    assert MAX_PATH == 2048
    assert stored == path[:kept]
    assert len(stored) == kept


@pytest.mark.parametrize(
    ("length", "kept"),
    [
        pytest.param(0, 0, id="none"),
        pytest.param(MAX_USER_AGENT, MAX_USER_AGENT, id="exactly"),
        pytest.param(MAX_USER_AGENT + 1, MAX_USER_AGENT, id="one-over"),
        pytest.param(4000, MAX_USER_AGENT, id="far-over"),
    ],
)
def test_the_user_agent_is_cut_at_512_characters(length: int, kept: int) -> None:
    agent = ("Mozilla/5.0 " * 400)[:length]
    extra: dict[str, Any] = {"HTTP_USER_AGENT": agent} if length else {}
    through(RequestFactory().get("/api/v1/whoami", **extra), answer(401))
    stored = only_row().user_agent
    assert MAX_USER_AGENT == 512
    assert stored == agent[:kept]


def test_response_time_is_how_long_the_answer_took_in_milliseconds() -> None:
    through(RequestFactory().get("/api/v1/whoami"), answer(200, then=lambda request: time.sleep(0.05)))
    elapsed = only_row().response_time_ms
    assert isinstance(elapsed, float)
    assert 50 <= elapsed < 5_000


def test_response_time_of_an_instant_answer_is_not_negative() -> None:
    through(RequestFactory().get("/api/v1/whoami"), answer(200))
    elapsed = only_row().response_time_ms
    assert isinstance(elapsed, float)
    assert 0 <= elapsed < 1_000


@pytest.mark.parametrize(
    ("method", "stored"),
    [
        pytest.param("GET", "GET", id="GET"),
        pytest.param("DELETE", "DELETE", id="DELETE"),
        pytest.param("OPTIONS", "OPTIONS", id="OPTIONS"),
        pytest.param("PROPFINDXYZ", "PROPFINDXY", id="cut-at-10"),
    ],
)
def test_the_method_is_recorded(method: str, stored: str) -> None:
    through(RequestFactory().generic(method, "/api/v1/keys"), answer(405))
    assert only_row().method == stored


# --- client IP --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote_addr", "forwarded", "expected"),
    [
        pytest.param("198.51.100.7", None, "198.51.100.7", id="ipv4"),
        pytest.param("2001:db8::7", None, "2001:db8::7", id="ipv6"),
        pytest.param("::ffff:198.51.100.7", None, "198.51.100.7", id="ipv4-mapped-becomes-ipv4"),
        pytest.param("198.51.100.7", "203.0.113.9", "198.51.100.7", id="forwarded-for-ignored-by-default"),
        pytest.param("", None, None, id="unknown"),
        pytest.param("not-an-address", None, None, id="junk"),
    ],
)
def test_the_client_ip_comes_from_remote_addr(remote_addr: str, forwarded: str | None, expected: str | None) -> None:
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    through(RequestFactory().get("/api/v1/whoami", REMOTE_ADDR=remote_addr, **extra), answer(401))
    row = only_row()
    assert row.client_ip == expected
    if expected is None:
        assert row.client_ip_key == ""
    else:
        address = parse_client_address(expected)
        assert address is not None
        assert row.client_ip_key == sortable_key(address.version, address.value)


@pytest.mark.parametrize(
    ("remote_addr", "forwarded", "expected"),
    [
        pytest.param("10.0.0.1", "203.0.113.9", "203.0.113.9", id="from-trusted-proxy"),
        pytest.param("10.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9", id="rightmost-untrusted"),
        pytest.param("198.51.100.7", "203.0.113.9", "198.51.100.7", id="from-untrusted-peer"),
        pytest.param("10.0.0.1", "not-an-address", None, id="junk-header-is-unknown"),
    ],
)
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    remote_addr: str, forwarded: str, expected: str | None
) -> None:
    request = RequestFactory().get("/api/v1/whoami", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(KEYFENCE_TRUSTED_PROXIES=["10.0.0.0/8"]):
        through(request, answer(401))
    assert only_row().client_ip == expected


# --- last used --------------------------------------------------------------------------------------------


def test_an_authenticated_answer_marks_the_key_used(user: Any, make_key: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usage, "_last_marked", {})
    key, secret = make_key(user)
    request = RequestFactory().get("/api/v1/whoami", HTTP_X_API_KEY=secret, REMOTE_ADDR="198.51.100.7")
    through(request, answer(200, then=authenticated_as(key)))
    key.refresh_from_db()
    assert key.last_used_at == only_row().timestamp
    assert key.last_used_ip == "198.51.100.7"


def test_a_failing_last_used_write_still_records_the_row_and_returns_the_response(
    user: Any, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def fail(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise OperationalError("database is locked")

    monkeypatch.setattr(usage, "_last_marked", {})
    monkeypatch.setattr(usage, "key_mark_used", fail)
    key, secret = make_key(user)
    expected = HttpResponse(b"ok", status=200)

    def get_response(request: HttpRequest) -> HttpResponse:
        authenticated_as(key)(request)
        return expected

    request = RequestFactory().get("/api/v1/whoami", HTTP_X_API_KEY=secret, REMOTE_ADDR="198.51.100.7")
    assert UsageLogMiddleware(get_response)(request) is expected
    assert [call["key_id"] for call in calls] == [key.pk]
    row = only_row()
    assert (row.api_key_id, row.workspace_id, row.status_code, row.decision) == (
        key.pk,
        key.workspace_id,
        200,
        "allowed",
    )
    key.refresh_from_db()
    assert key.last_used_at is None
