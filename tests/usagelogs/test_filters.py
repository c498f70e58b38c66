"""UsageLogFilter on its own: each filter of SPEC §5 against rows with known times, addresses and codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict

from tests.browser.helpers import seed_log
from tests.usagelogs.helpers import session_request, team_of
from usagelogs.filters import UsageLogFilter
from usagelogs.models import UsageLog
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

# name: (method, status, decision, client ip, minutes after T0)
ROWS: dict[str, tuple[str, int, str, str, int]] = {
    "get_200": ("GET", 200, "allowed", "203.0.113.5", 0),
    "post_201": ("POST", 201, "unrestricted", "203.0.113.200", 30),
    "get_404": ("GET", 404, "allowed", "198.51.100.10", 60),
    "delete_403": ("DELETE", 403, "blocked", "2001:db8::1", 90),
    "patch_401": ("PATCH", 401, "none", "2001:db8:1::1", 120),
    "get_500": ("GET", 500, "would_block", "192.0.2.1", 150),
    "head_302": ("HEAD", 302, "allowed", "203.0.113.6", 180),
}
ALL = set(ROWS)


@pytest.fixture
def rows(user: Any, make_key: Any) -> dict[int, str]:
    """The rows of ``ROWS``, all of one key of ``user``; returns id -> name."""
    key, _ = make_key(user)
    names: dict[int, str] = {}
    for name, (method, status, decision, ip, minutes) in ROWS.items():
        row = seed_log(
            user, key, method=method, status=status, decision=decision, ip=ip, at=T0 + timedelta(minutes=minutes)
        )
        names[row.pk] = name
    return names


def filtered(params: dict[str, str], user: Any, workspace: Workspace | None = None) -> UsageLogFilter:
    """The FilterSet as a view builds it, from a query string as the browser or an API client sends it."""
    request = session_request(user, "/settings/developer/logs/", workspace=workspace)
    return UsageLogFilter(data=QueryDict(urlencode(params)), queryset=UsageLog.objects.all(), request=request)


def names_of(params: dict[str, str], user: Any, rows: dict[int, str]) -> set[str]:
    filterset = filtered(params, user)
    assert filterset.is_valid(), filterset.errors.as_data()
    return {rows[pk] for pk in filterset.qs.values_list("pk", flat=True)}


def error_codes(params: dict[str, str], user: Any, workspace: Workspace | None = None) -> dict[str, list[str | None]]:
    filterset = filtered(params, user, workspace)
    assert not filterset.is_valid()
    return {field: [error.code for error in errors] for field, errors in filterset.errors.as_data().items()}


def test_no_filter_returns_every_row(user: Any, rows: dict[int, str]) -> None:
    assert names_of({}, user, rows) == ALL


# --- status_code ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("404", {"get_404"}, id="exact-404"),
        pytest.param("201", {"post_201"}, id="exact-201"),
        pytest.param("204", set(), id="exact-with-no-rows"),
        pytest.param(" 404 ", {"get_404"}, id="exact-with-spaces"),
        pytest.param("4xx", {"get_404", "delete_403", "patch_401"}, id="class-4xx"),
        pytest.param("4XX", {"get_404", "delete_403", "patch_401"}, id="class-4XX"),
        pytest.param("2xx", {"get_200", "post_201"}, id="class-2xx"),
        pytest.param("3xx", {"head_302"}, id="class-3xx"),
        pytest.param("5xx", {"get_500"}, id="class-5xx"),
        pytest.param("1xx", set(), id="class-with-no-rows"),
        pytest.param("", ALL, id="empty-is-no-filter"),
    ],
)
def test_status_code_exact_or_class(value: str, expected: set[str], user: Any, rows: dict[int, str]) -> None:
    assert names_of({"status_code": value}, user, rows) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("4x", id="short-class"),
        pytest.param("600", id="above-599"),
        pytest.param("6xx", id="class-6xx"),
        pytest.param("099", id="below-100"),
        pytest.param("abc", id="text"),
        pytest.param("40", id="two-digits"),
        pytest.param("4044", id="four-digits"),
        pytest.param("4Xx", id="mixed-case-class"),
        pytest.param("404,500", id="list"),
    ],
)
def test_an_invalid_status_code_is_an_error(value: str, user: Any, rows: dict[int, str]) -> None:
    assert error_codes({"status_code": value}, user) == {"status_code": ["INVALID_STATUS"]}


# --- method -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("GET", {"get_200", "get_404", "get_500"}, id="GET"),
        pytest.param("POST", {"post_201"}, id="POST"),
        pytest.param("PATCH", {"patch_401"}, id="PATCH"),
        pytest.param("DELETE", {"delete_403"}, id="DELETE"),
        pytest.param("HEAD", {"head_302"}, id="HEAD"),
        pytest.param("PUT", set(), id="PUT-with-no-rows"),
        pytest.param("OPTIONS", set(), id="OPTIONS-with-no-rows"),
        pytest.param("", ALL, id="empty-is-no-filter"),
    ],
)
def test_method_is_one_of_the_choices(value: str, expected: set[str], user: Any, rows: dict[int, str]) -> None:
    assert names_of({"method": value}, user, rows) == expected


@pytest.mark.parametrize("value", [pytest.param("TRACE", id="TRACE"), pytest.param("CONNECT", id="CONNECT")])
def test_a_method_outside_the_choices_is_an_error(value: str, user: Any, rows: dict[int, str]) -> None:
    assert error_codes({"method": value}, user) == {"method": ["invalid_choice"]}


# --- decision and blocked ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("unrestricted", {"post_201"}, id="unrestricted"),
        pytest.param("allowed", {"get_200", "get_404", "head_302"}, id="allowed"),
        pytest.param("blocked", {"delete_403"}, id="blocked"),
        pytest.param("would_block", {"get_500"}, id="would_block"),
        pytest.param("none", {"patch_401"}, id="none"),
        pytest.param("", ALL, id="empty-is-no-filter"),
    ],
)
def test_decision_matches_exactly(value: str, expected: set[str], user: Any, rows: dict[int, str]) -> None:
    assert names_of({"decision": value}, user, rows) == expected


@pytest.mark.parametrize("value", [pytest.param("denied", id="unknown"), pytest.param("Blocked", id="wrong-case")])
def test_an_unknown_decision_is_an_error(value: str, user: Any, rows: dict[int, str]) -> None:
    assert error_codes({"decision": value}, user) == {"decision": ["invalid_choice"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("true", {"delete_403"}, id="true"),
        pytest.param("TRUE", {"delete_403"}, id="TRUE"),
        pytest.param("1", {"delete_403"}, id="1"),
        pytest.param("on", {"delete_403"}, id="on-from-the-checkbox"),
        pytest.param(" On ", {"delete_403"}, id="on-with-spaces"),
        pytest.param("false", ALL, id="false-is-no-filter"),
        pytest.param("False", ALL, id="False-is-no-filter"),
        pytest.param("0", ALL, id="0-is-no-filter"),
        pytest.param("", ALL, id="empty-is-no-filter"),
    ],
)
def test_blocked_keeps_blocked_requests_only_when_true(
    value: str, expected: set[str], user: Any, rows: dict[int, str]
) -> None:
    assert names_of({"blocked": value}, user, rows) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yes", id="yes"),
        pytest.param("no", id="no"),
        pytest.param("2", id="2"),
        pytest.param("blocked", id="a-decision"),
        pytest.param("truthy", id="starts-with-true"),
    ],
)
def test_blocked_with_other_text_is_an_error_not_a_silent_yes(value: str, user: Any, rows: dict[int, str]) -> None:
    assert error_codes({"blocked": value}, user) == {"blocked": ["invalid"]}


def test_blocked_and_another_decision_together_match_nothing(user: Any, rows: dict[int, str]) -> None:
    assert names_of({"blocked": "true", "decision": "allowed"}, user, rows) == set()
    assert names_of({"blocked": "true", "decision": "blocked"}, user, rows) == {"delete_403"}


# --- client_ip --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("203.0.113.5", {"get_200"}, id="ipv4-address"),
        pytest.param("203.0.113.0/24", {"get_200", "post_201", "head_302"}, id="ipv4-cidr-24"),
        pytest.param("203.0.113.4/30", {"get_200", "head_302"}, id="ipv4-cidr-30"),
        pytest.param("203.0.113.5/30", {"get_200", "head_302"}, id="ipv4-cidr-with-host-bits"),
        pytest.param("203.0.113.5/32", {"get_200"}, id="ipv4-cidr-32"),
        pytest.param("0.0.0.0/0", {"get_200", "post_201", "get_404", "get_500", "head_302"}, id="every-ipv4"),
        pytest.param("198.51.100.11", set(), id="ipv4-with-no-rows"),
        pytest.param("2001:db8::1", {"delete_403"}, id="ipv6-address"),
        pytest.param("2001:DB8:0:0::1", {"delete_403"}, id="ipv6-address-uncompressed-upper-case"),
        pytest.param("2001:db8::/48", {"delete_403"}, id="ipv6-cidr-48"),
        pytest.param("2001:db8::/32", {"delete_403", "patch_401"}, id="ipv6-cidr-32"),
        pytest.param("::ffff:198.51.100.10", {"get_404"}, id="ipv4-mapped-address"),
        pytest.param("::ffff:203.0.113.0/120", {"get_200", "post_201", "head_302"}, id="ipv4-mapped-cidr"),
        pytest.param(" 203.0.113.5 ", {"get_200"}, id="with-spaces"),
        pytest.param("", ALL, id="empty-is-no-filter"),
    ],
)
def test_client_ip_as_an_address_or_a_range(value: str, expected: set[str], user: Any, rows: dict[int, str]) -> None:
    assert names_of({"client_ip": value}, user, rows) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not-an-ip", id="text"),
        pytest.param("256.1.1.1", id="octet-above-255"),
        pytest.param("203.0.113", id="three-octets"),
        pytest.param("203.0.113.0/33", id="ipv4-prefix-too-long"),
        pytest.param("2001:db8::/129", id="ipv6-prefix-too-long"),
        pytest.param("203.0.113.0/", id="empty-prefix"),
        pytest.param("203.0.113.0/-1", id="negative-prefix"),
        pytest.param("203.0.113.0/24/8", id="two-prefixes"),
        pytest.param("203.0.113.5%eth0", id="zone-on-ipv4"),
        pytest.param("203.0.113.5-203.0.113.9", id="dash-range"),
    ],
)
def test_an_invalid_client_ip_is_an_error(value: str, user: Any, rows: dict[int, str]) -> None:
    assert error_codes({"client_ip": value}, user) == {"client_ip": ["INVALID_IP"]}


# --- since and until --------------------------------------------------------------------------------------


AT_11 = {"get_404", "delete_403", "patch_401", "get_500", "head_302"}  # 11:00 and after
BEFORE_11 = {"get_200", "post_201"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"since": "2025-03-01T11:00:00Z"}, AT_11, id="since-Z-is-inclusive"),
        pytest.param({"since": "2025-03-01T11:00:00.001Z"}, AT_11 - {"get_404"}, id="since-with-milliseconds"),
        pytest.param({"since": "2025-03-01T13:00:00+02:00"}, AT_11, id="since-plus-two-hours-to-utc"),
        pytest.param({"since": "2025-03-01T06:00:00-05:00"}, AT_11, id="since-minus-five-hours-to-utc"),
        # A naive time is read in the current time zone, which the settings make UTC.
        pytest.param({"since": "2025-03-01T11:00:00"}, AT_11, id="since-naive-is-utc"),
        pytest.param({"until": "2025-03-01T11:00:00Z"}, BEFORE_11, id="until-Z-is-exclusive"),
        pytest.param({"until": "2025-03-01T13:00:00+02:00"}, BEFORE_11, id="until-plus-two-hours-to-utc"),
        pytest.param({"until": "2025-03-01T11:00:00"}, BEFORE_11, id="until-naive-is-utc"),
        pytest.param(
            {"since": "2025-03-01T10:30:00Z", "until": "2025-03-01T12:00:00Z"},
            {"post_201", "get_404", "delete_403"},
            id="window",
        ),
        pytest.param(
            {"since": "2025-03-01T12:00:00Z", "until": "2025-03-01T11:00:00Z"}, set(), id="window-backwards-is-empty"
        ),
    ],
)
def test_since_and_until_compare_in_utc(
    params: dict[str, str], expected: set[str], user: Any, rows: dict[int, str]
) -> None:
    assert names_of(params, user, rows) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2025-03-01T13:00:00+02:00", id="offset"),
        pytest.param("2025-03-01T11:00:00Z", id="Z"),
        pytest.param("2025-03-01T11:00:00", id="naive"),
    ],
)
def test_since_is_cleaned_to_a_utc_time(value: str, user: Any) -> None:
    filterset = filtered({"since": value}, user)
    assert filterset.is_valid(), filterset.errors.as_data()
    moment = filterset.form.cleaned_data["since"]
    assert moment == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="text"),
        pytest.param("2025-13-01T00:00:00Z", id="month-13"),
        pytest.param("2025-02-30T00:00:00Z", id="february-30"),
        pytest.param("0001-01-01T00:30:00+01:00", id="before-year-1-in-utc"),
        pytest.param("9999-12-31T23:30:00-01:00", id="after-year-9999-in-utc"),
    ],
)
@pytest.mark.parametrize("name", ["since", "until"])
def test_an_invalid_time_is_an_error(name: str, value: str, user: Any, rows: dict[int, str]) -> None:
    assert error_codes({name: value}, user) == {name: ["invalid"]}


# --- api_key ----------------------------------------------------------------------------------------------


@pytest.fixture
def keyed_rows(user: Any, other_user: Any, make_key: Any) -> dict[str, Any]:
    """Two keys in ``user``'s personal workspace and one in ``other_user``'s, one row each."""
    mine, _ = make_key(user, name="Deploy")
    also_mine, _ = make_key(user, name="Backup")
    theirs, _ = make_key(other_user, name="Theirs")
    for owner, key in ((user, mine), (user, also_mine), (other_user, theirs)):
        seed_log(owner, key, at=T0)
    return {"mine": mine, "also_mine": also_mine, "theirs": theirs}


def test_api_key_keeps_that_key_s_rows(user: Any, keyed_rows: dict[str, Any]) -> None:
    filterset = filtered({"api_key": str(keyed_rows["mine"].pk)}, user)
    assert filterset.is_valid(), filterset.errors.as_data()
    assert list(filterset.qs.values_list("api_key", flat=True)) == [keyed_rows["mine"].pk]


def test_api_key_offers_only_the_keys_of_the_current_workspace(user: Any, keyed_rows: dict[str, Any]) -> None:
    choices = filtered({}, user).form.fields["api_key"].queryset
    assert list(choices) == [keyed_rows["also_mine"], keyed_rows["mine"]]


def test_api_key_offers_every_member_s_keys_in_a_team_workspace(
    user: Any, other_user: Any, make_key: Any, keyed_rows: dict[str, Any]
) -> None:
    team = team_of(user, other_user)
    theirs, _ = make_key(other_user, name="Team deploy", scopes=["logs:read"], workspace_id=team.pk)
    mine, _ = make_key(user, name="Team backup", workspace_id=team.pk)
    assert list(filtered({}, user, team).form.fields["api_key"].queryset) == [mine, theirs]
    assert filtered({"api_key": str(theirs.pk)}, user, team).is_valid()
    assert error_codes({"api_key": str(keyed_rows["mine"].pk)}, user, team) == {"api_key": ["invalid_choice"]}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        pytest.param("theirs", "invalid_choice", id="another-workspace-s-key"),
        pytest.param("00000000-0000-0000-0000-000000000000", "invalid_choice", id="no-such-key"),
        # Not a UUID at all: the id field's own code, before any lookup.
        pytest.param("abc", "invalid", id="not-an-id"),
    ],
)
def test_api_key_outside_the_workspace_s_keys_is_an_error(
    value: str, code: str, user: Any, keyed_rows: dict[str, Any]
) -> None:
    key_id = str(keyed_rows[value].pk) if value in keyed_rows else value
    assert error_codes({"api_key": key_id}, user) == {"api_key": [code]}


def test_another_workspace_s_key_is_never_named_in_the_form(user: Any, keyed_rows: dict[str, Any]) -> None:
    filterset = filtered({"api_key": str(keyed_rows["theirs"].pk)}, user)
    assert not filterset.is_valid()
    rendered = str(filterset.form)
    assert keyed_rows["mine"].name in rendered
    assert keyed_rows["theirs"].name not in rendered


def test_an_anonymous_request_has_no_key_to_choose(keyed_rows: dict[str, Any]) -> None:
    assert list(filtered({}, AnonymousUser()).form.fields["api_key"].queryset) == []
    assert error_codes({"api_key": str(keyed_rows["mine"].pk)}, AnonymousUser()) == {"api_key": ["invalid_choice"]}
