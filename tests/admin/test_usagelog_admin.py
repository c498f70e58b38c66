"""The usage-log admin filters with the FilterSet of the page, the API and the CSV (SPEC §5, §8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.browser.helpers import seed_log

pytestmark = pytest.mark.django_db
URL = "/admin/usagelogs/usagelog/"


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")
    client.force_login(admin)
    return client


@pytest.fixture
def rows(user, other_user, make_key):
    build, _ = make_key(user, name="Build")
    other, _ = make_key(other_user, name="Elsewhere")
    now = timezone.now()
    return {
        "ok": seed_log(user, build, ip="203.0.113.5", path="/api/v1/ok", at=now - timedelta(hours=1)),
        "blocked": seed_log(
            user,
            build,
            ip="198.51.100.9",
            status=403,
            decision="blocked",
            error="IP_NOT_ALLOWED",
            path="/api/v1/blocked",
            at=now - timedelta(days=3),
        ),
        "missing": seed_log(
            other_user,
            other,
            ip="2001:db8::7",
            status=404,
            error="NOT_FOUND",
            path="/api/v1/missing",
            method="DELETE",
            at=now - timedelta(days=10),
        ),
        "build": build,
        "other": other,
        "now": now,
    }


def paths(response) -> set[str]:
    return {row.path for row in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "query, expected",
    [
        pytest.param("", {"ok", "blocked", "missing"}, id="no-filter"),
        pytest.param("status_code=4xx", {"blocked", "missing"}, id="status-class"),
        pytest.param("status_code=403", {"blocked"}, id="status-exact"),
        pytest.param("client_ip=198.51.100.0/24", {"blocked"}, id="cidr"),
        pytest.param("client_ip=2001:db8::7", {"missing"}, id="ipv6-address"),
        pytest.param("blocked=on", {"blocked"}, id="blocked-only"),
        pytest.param("decision=blocked", {"blocked"}, id="decision"),
        pytest.param("method=DELETE", {"missing"}, id="method"),
    ],
)
def test_the_same_filters_as_the_api(staff, rows, query, expected):
    response = staff.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert paths(response) == {rows[name].path for name in expected}


def test_api_key_filter_offers_every_owners_keys(staff, rows):
    response = staff.get(f"{URL}?api_key={rows['other'].pk}")
    assert paths(response) == {"/api/v1/missing"}
    html = response.content.decode()
    assert "Build" in html and "Elsewhere" in html


def test_free_date_range(staff, rows):
    since = (rows["now"] - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (rows["now"] - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = staff.get(URL, {"since": since, "until": until})
    assert paths(response) == {"/api/v1/blocked"}


def test_filters_combine_with_search_and_sorting(staff, rows):
    response = staff.get(URL, {"status_code": "4xx", "q": "blocked", "o": "-1"})
    assert paths(response) == {"/api/v1/blocked"}
    html = response.content.decode()
    assert 'name="status_code"' in html and 'value="4xx"' in html
    assert "status_code=4xx" in html  # the sorting and paging links keep the filter


def test_invalid_filter_shows_its_error_and_no_rows(staff, rows):
    response = staff.get(URL, {"client_ip": "not-an-ip", "status_code": "abc"})
    assert response.status_code == 200
    assert paths(response) == set()
    html = response.content.decode()
    assert "Enter an IP address or a CIDR range." in html
    assert "Enter a status code such as 404" in html
    assert 'id="id_client_ip_error"' in html
