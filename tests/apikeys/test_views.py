"""Settings > Developer key pages through Django's test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.models import AllowlistEntry, ApiKey, AuditEvent
from apikeys.secrets import hash_key

pytestmark = pytest.mark.django_db

NEW = "/settings/developer/keys/new/"
KEY_PATTERN = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")


def signed_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def nonce_of(response: Any) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', response.content.decode()).group(1)


def rows_data(rows: list[tuple[str, str]], prefix: str = "entries") -> dict[str, str]:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, (cidr, label) in enumerate(rows):
        data[f"{prefix}-{index}-cidr"] = cidr
        data[f"{prefix}-{index}-label"] = label
    return data


def create(client: Client, rows: list[tuple[str, str]] = (), **fields: Any) -> Any:
    nonce = nonce_of(client.get(NEW))
    data = {
        "name": "Deploy bot",
        "description": "",
        "allowlist_mode": "enforce",
        "nonce": nonce,
        **rows_data(list(rows)),
        **fields,
    }
    return client.post(NEW, data)


def page_of(key: Any, page: str) -> str:
    return f"/settings/developer/keys/{key.pk}/{page}/"


@pytest.mark.parametrize("path", ["/settings/developer/", NEW, "/settings/developer/logs/"])
def test_pages_need_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_login_page_has_labelled_fields(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert "csrfmiddlewaretoken" in html


def test_create_with_two_rows_stores_both_and_shows_the_secret(user: Any) -> None:
    client = signed_in(user)
    response = create(client, [("203.0.113.5", "Office"), ("2001:DB8::/48", "")], scopes=["keys:read", "logs:read"])
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.created_by_id) == ("Deploy bot", ["keys:read", "logs:read"], user.pk)
    assert sorted(key.entries.values_list("cidr", "label")) == [("2001:db8::/48", ""), ("203.0.113.5/32", "Office")]
    secrets = KEY_PATTERN.findall(response.content.decode())
    assert len(set(secrets)) == 1 and hash_key(secrets[0]) == key.secret_hash
    assert "It will not be shown again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_the_secret_is_stored_nowhere_and_a_repost_creates_nothing(user: Any) -> None:
    client = signed_in(user)
    nonce = nonce_of(client.get(NEW))
    data = {"name": "Once", "allowlist_mode": "enforce", "nonce": nonce, **rows_data([("203.0.113.5", "")])}
    first = client.post(NEW, data)
    secret = KEY_PATTERN.search(first.content.decode()).group(0)
    assert secret not in str(dict(client.session))
    assert all(secret not in cookie.value for cookie in client.cookies.values())
    assert not any(
        secret in str(value) for values in AuditEvent.objects.values_list("before", "after") for value in values
    )

    again = client.post(NEW, data, follow=True)
    assert ApiKey.objects.count() == 1
    assert again.redirect_chain == [("/settings/developer/", 302)]
    page = again.content.decode()
    assert "already submitted" in page and secret not in page and not KEY_PATTERN.search(page)
    assert secret not in client.get("/settings/developer/").content.decode()


@pytest.mark.parametrize("nonce", ["", "made-up-value"], ids=["missing", "forged"])
def test_a_create_without_an_issued_nonce_creates_nothing(user: Any, nonce: str) -> None:
    client = signed_in(user)
    client.get(NEW)
    response = client.post(NEW, {"name": "Sneaky", "allowlist_mode": "enforce", "nonce": nonce, **rows_data([])})
    assert response.status_code == 302
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("cidr", "field", "code", "text"),
    [
        ("10.0.0.0/8", "cidr", "PREFIX_TOO_BROAD", "too broad"),
        ("203.0.113.5/24", "cidr", "HOST_BITS_SET", "Did you mean 203.0.113.0/24?"),
        ("010.0.0.1", "cidr", "INVALID_IP", "Enter an IP address or a CIDR range"),
        ("198.51.100.7/32", "cidr", "DUPLICATE_ENTRY", "198.51.100.7/32 is already in this allowlist."),
    ],
    ids=["too-broad", "host-bits", "leading-zero", "duplicate"],
)
def test_a_row_error_shows_next_to_its_row_and_keeps_every_row(
    user: Any, cidr: str, field: str, code: str, text: str
) -> None:
    client = signed_in(user)
    response = create(client, [("198.51.100.7", "first"), (cidr, "second"), ("192.0.2.1", "third")])
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    forms = response.context["rows"].forms
    assert [error.code for error in forms[1].errors.as_data()[field]] == [code]
    assert not forms[0].errors and not forms[2].errors
    html = response.content.decode()
    error_block = re.search(r'<p class="field-error" id="id_entries-1-cidr-error">(.*?)</p>', html, re.S).group(1)
    assert f'data-code="{code}"' in error_block and text in error_block
    for value in ("198.51.100.7", cidr, "192.0.2.1", "first", "second", "third"):
        assert f'value="{value}"' in html
    assert 'aria-invalid="true" aria-describedby="id_entries-1-cidr-error"' in html
    assert "Nothing was created" in html


def test_a_label_too_long_is_an_error_on_the_label(user: Any) -> None:
    response = create(signed_in(user), [("203.0.113.5", "x" * 101)])
    assert [e.code for e in response.context["rows"].forms[0].errors.as_data()["label"]] == ["LABEL_TOO_LONG"]
    assert not ApiKey.objects.exists()


def test_more_than_twenty_rows_is_one_list_error(user: Any) -> None:
    response = create(signed_in(user), [(f"198.51.100.{n}", "") for n in range(21)])
    assert "at most 20 allowlist entries" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_blank_rows_are_ignored(user: Any) -> None:
    create(signed_in(user), [("", ""), ("203.0.113.5", ""), ("  ", "")])
    assert list(AllowlistEntry.objects.values_list("cidr", flat=True)) == ["203.0.113.5/32"]


def test_name_is_required_and_kept_rows_survive(user: Any) -> None:
    response = create(signed_in(user), [("203.0.113.5", "Office")], name="")
    assert response.context["form"].errors["name"]
    assert 'value="203.0.113.5"' in response.content.decode()
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("add", ["203.0.113.5", ""]),
        ("add:192.0.2.44", ["203.0.113.5", "192.0.2.44"]),
        ("remove:0", []),
    ],
    ids=["add", "add-address", "remove"],
)
def test_row_buttons_work_without_javascript(user: Any, action: str, expected: list[str]) -> None:
    response = create(signed_in(user), [("203.0.113.5", "")], name="", row_action=action)
    assert response.status_code == 200
    assert [form["cidr"].value() or "" for form in response.context["rows"].forms] == expected
    assert not ApiKey.objects.exists()
    assert "Nothing was created" not in response.content.decode()


def test_developer_table_summaries_and_menu(user: Any, make_key: Any) -> None:
    make_key(user, name="Open")
    used, _ = make_key(user, name="Two", allow=["203.0.113.0/24", "198.51.100.7"])
    ApiKey.objects.filter(pk=used.pk).update(last_used_at=timezone.now(), last_used_ip="203.0.113.9")
    make_key(user, name="Trial", allow=["192.0.2.0/24"], mode="report")
    gone, _ = make_key(user, name="Gone")
    ApiKey.objects.filter(pk=gone.pk).update(revoked_at=timezone.now())
    make_key(user, name="Old", expires_at=timezone.now() - timedelta(days=1))
    html = signed_in(user).get("/settings/developer/").content.decode()
    rows = {
        name: row
        for row in re.findall(r"<tr>.*?</tr>", html, re.S)
        for name in ["Open", "Two", "Trial", "Gone", "Old"]
        if f'<span class="key-name">{name}</span>' in row
    }
    assert "Unrestricted" in rows["Open"] and "2 entries" in rows["Two"] and "Report only" in rows["Trial"]
    assert "from 203.0.113.9" in rows["Two"] and "Never" in rows["Open"]
    assert "status--active" in rows["Open"] and "status--revoked" in rows["Gone"] and "status--expired" in rows["Old"]
    assert 'aria-label="Actions for Two"' in rows["Two"] and 'aria-haspopup="menu"' in rows["Two"]
    assert 'aria-expanded="false"' in rows["Two"]
    assert re.findall(r'role="menuitem"[^>]*>([^<]+)<', rows["Two"]) == ["IP Allowlist", "Roll key", "Revoke"]


def test_empty_keys_page_explains_what_to_do(user: Any) -> None:
    html = signed_in(user).get("/settings/developer/").content.decode()
    assert "No API keys yet" in html and "Create API Key" in html


@pytest.mark.parametrize("page", ["allowlist", "roll", "revoke"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_key_is_not_found(user: Any, other_user: Any, make_key: Any, page: str, method: str) -> None:
    key, _ = make_key(other_user, allow=["203.0.113.0/24"])
    response = getattr(signed_in(user), method)(page_of(key, page), {"grace_seconds": "0", **rows_data([])})
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None and key.entries.count() == 1


@pytest.mark.parametrize("target", ["new", "allowlist", "roll", "revoke", "logout"])
def test_csrf_is_enforced_on_every_form(user: Any, make_key: Any, target: str) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    paths = {
        "new": NEW,
        "logout": "/accounts/logout/",
        **{page: page_of(key, page) for page in ("allowlist", "roll", "revoke")},
    }
    client = signed_in(user, enforce_csrf_checks=True)
    response = client.post(paths[target], {"name": "x", "grace_seconds": "0", "mode": "enforce", **rows_data([])})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None and key.entries.count() == 1 and ApiKey.objects.count() == 1


def test_with_its_token_the_same_form_goes_through(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    client = signed_in(user, enforce_csrf_checks=True)
    html = client.get(page_of(key, "allowlist")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(
        page_of(key, "allowlist"), {"csrfmiddlewaretoken": token, "mode": "enforce", **rows_data([])}
    )
    assert response.status_code == 302
    assert key.entries.count() == 0


def test_logout_is_a_post(user: Any) -> None:
    client = signed_in(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"


def test_allowlist_save_replaces_every_row_and_the_mode_at_once(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24", "198.51.100.7"])
    client = signed_in(user)
    response = client.post(
        page_of(key, "allowlist"),
        {"mode": "report", **rows_data([("203.0.113.0/24", "Office"), ("", ""), ("2001:db8::/48", "v6")])},
    )
    assert response["Location"] == page_of(key, "allowlist")
    key.refresh_from_db()
    assert key.allowlist_mode == "report"
    assert sorted(key.entries.values_list("cidr", "label")) == [("2001:db8::/48", "v6"), ("203.0.113.0/24", "Office")]
    event = AuditEvent.objects.filter(api_key=key).first()
    assert (event.action, event.actor_user_id, event.client_ip) == ("allowlist.replaced", user.pk, "127.0.0.1")


def test_allowlist_error_changes_nothing_and_keeps_what_was_typed(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=["203.0.113.0/24"])
    response = signed_in(user).post(
        page_of(key, "allowlist"), {"mode": "report", **rows_data([("192.0.2.0/24", "new"), ("10.0.0.0/8", "broad")])}
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["rows"].forms[1].errors.as_data()["cidr"]] == ["PREFIX_TOO_BROAD"]
    html = response.content.decode()
    assert 'value="192.0.2.0/24"' in html and 'value="10.0.0.0/8"' in html and "Nothing was saved" in html
    assert re.search(r'value="report"[^>]*checked', html)
    key.refresh_from_db()
    assert key.allowlist_mode == "enforce" and list(key.entries.values_list("cidr", flat=True)) == ["203.0.113.0/24"]
    assert not AuditEvent.objects.filter(api_key=key, action="allowlist.replaced").exists()


def test_allowlist_page_shows_matches_overlaps_blocked_ips_and_history(user: Any, make_key: Any) -> None:
    from usagelogs.models import UsageLog

    key, _ = make_key(user, allow=["203.0.113.0/24", "203.0.113.5"])
    AllowlistEntry.objects.filter(cidr="203.0.113.0/24").update(last_matched_at=timezone.now())
    UsageLog.objects.create(
        workspace_id=key.workspace_id,
        api_key=key,
        method="GET",
        path="/api/v1/whoami",
        status_code=403,
        client_ip="192.0.2.44",
        decision="blocked",
    )
    UsageLog.objects.create(
        workspace_id=key.workspace_id,
        api_key=key,
        method="GET",
        path="/api/v1/whoami",
        status_code=403,
        client_ip="192.0.2.55",
        decision="blocked",
        timestamp=timezone.now() - timedelta(days=8),
    )
    html = signed_in(user).get(page_of(key, "allowlist")).content.decode()
    assert "203.0.113.5/32 lies inside 203.0.113.0/24" in html
    assert "Last matched:" in html and "never" in html
    assert "data-entry-count>2</span> of 20 entries" in html and "Your current IP: <strong>127.0.0.1</strong>" in html
    assert 'value="addmine:127.0.0.1"' in html and 'value="add:192.0.2.44"' in html and "192.0.2.55" not in html
    assert "Key created" in html and "added 203.0.113.0/24" in html


def test_at_the_limit_add_buttons_are_disabled(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, allow=[f"198.51.100.{n}" for n in range(20)])
    html = signed_in(user).get(page_of(key, "allowlist")).content.decode()
    assert "data-entry-count>20</span> of 20 entries" in html
    assert re.search(r'value="add"[^>]*\sdisabled', html, re.S)
    assert '<p id="entry-limit" class="entry-limit" data-entry-limit>' in html


def test_roll_shows_a_new_secret_once(user: Any, make_key: Any) -> None:
    key, old = make_key(user)
    client = signed_in(user)
    page = client.get(page_of(key, "roll"))
    data = {"grace_seconds": "3600", "nonce": nonce_of(page)}
    response = client.post(page_of(key, "roll"), data)
    secret = KEY_PATTERN.search(response.content.decode()).group(0)
    key.refresh_from_db()
    assert secret != old and hash_key(secret) == key.secret_hash and hash_key(old) == key.previous_secret_hash
    assert "no-store" in response["Cache-Control"] and "Key rolled" in response.content.decode()
    again = client.post(page_of(key, "roll"), data)
    assert again.status_code == 302
    key.refresh_from_db()
    assert hash_key(secret) == key.secret_hash


def test_a_revoked_key_cannot_be_rolled(user: Any, make_key: Any) -> None:
    key, _ = make_key(user)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    client = signed_in(user)
    assert "Only an active key can be rolled" in client.get(page_of(key, "roll")).content.decode()


def test_revoke_asks_then_revokes(user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="Doomed")
    client = signed_in(user)
    assert "This cannot be undone" in client.get(page_of(key, "revoke")).content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    response = client.post(page_of(key, "revoke"), follow=True)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Doomed was revoked" in response.content.decode()
