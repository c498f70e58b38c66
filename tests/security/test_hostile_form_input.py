"""Oversized and malformed input to every browser form and page query.

Every answer is the form again with an error, a redirect or a 4xx, never a 5xx; bad input stores
nothing: no key, entry or audit event is added, and an existing key keeps its allowlist, mode and
secret.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from apikeys import services
from apikeys.models import AllowlistEntry, ApiKey, AuditEvent

pytestmark = pytest.mark.django_db

BIG = "x" * 10_240
NUL = "\x00"
DROP = object()  # an override that removes the field from the POST
NEW = "/settings/developer/keys/new/"
LOGS = "/settings/developer/logs/"
LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-battery"
EXISTING = [("203.0.113.5", "Office"), ("2001:db8::/48", "Lab")]
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    # Form nonces and the sign-in lockout live in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def signed_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)  # a crash must show up as the 500 it would be
    client.force_login(user)
    return client


@pytest.fixture
def existing(user: Any, make_key: Any) -> ApiKey:
    key, _ = make_key(user, name="Existing", scopes=["keys:read"], allow=list(EXISTING))
    return key


def counts() -> tuple[int, int, int]:
    return ApiKey.objects.count(), AllowlistEntry.objects.count(), AuditEvent.objects.count()


USE_FIELDS = {"last_used_at", "last_used_ip", "last_matched_at"}  # any authenticated API call may touch these


def key_state(key: ApiKey) -> dict[str, Any]:
    """Everything an owner configured on a key: its columns, its entries and its audit trail."""

    def configured(row: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in row.items() if name not in USE_FIELDS}

    return {
        "key": configured(ApiKey.objects.filter(pk=key.pk).values().get()),
        "entries": [configured(row) for row in AllowlistEntry.objects.filter(api_key=key).order_by("id").values()],
        "events": list(AuditEvent.objects.filter(api_key=key).order_by("id").values_list("id", flat=True)),
    }


def rows_data(rows: list[tuple[str, str]], total: int | None = None) -> dict[str, str]:
    data = {"entries-TOTAL_FORMS": str(len(rows) if total is None else total), "entries-INITIAL_FORMS": "0"}
    for index, (cidr, label) in enumerate(rows):
        data[f"entries-{index}-cidr"] = cidr
        data[f"entries-{index}-label"] = label
    return data


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = {**base, **overrides}
    return {name: value for name, value in data.items() if value is not DROP}


def nonce_from(signed_in: Client, url: str) -> str:
    page = signed_in.get(url)
    assert page.status_code == 200
    return re.search(r'name="nonce" value="([^"]+)"', page.content.decode()).group(1)


def assert_no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.status_code


# Rows posted with otherwise good data: each case spoils exactly one thing.
GOOD_ROWS = [("198.51.100.0/24", "New office"), ("192.0.2.7", "CI")]

ROW_JUNK = [
    pytest.param(rows_data([(BIG, "")]), "INVALID_IP", id="10kb-cidr-200-error"),
    pytest.param(rows_data([("198.51.100.7", BIG)]), "LABEL_TOO_LONG", id="10kb-label-200-error"),
    pytest.param(rows_data([("198.51.100.7" + NUL, "")]), "null_characters_not_allowed", id="nul-in-cidr-200-error"),
    pytest.param(
        rows_data([("198.51.100.7", "lab" + NUL)]), "null_characters_not_allowed", id="nul-in-label-200-error"
    ),
    pytest.param(
        rows_data([("\u0661\u0669\u0668.\u0665\u0661.\u0661\u0660\u0660.\u0667", "")]),
        "INVALID_IP",
        id="arabic-indic-digits-cidr-200-error",
    ),
    pytest.param(rows_data([("\uff11\uff19\uff18.51.100.7", "")]), "INVALID_IP", id="fullwidth-digits-cidr-200-error"),
    pytest.param(rows_data([("198.51.100.7\u200b", "")]), "INVALID_IP", id="zero-width-space-cidr-200-error"),
    pytest.param(
        rows_data([("198.51.100.0/24", "a"), ("192.0.2.1, 192.0.2.2", "")]),
        "INVALID_IP",
        id="two-values-in-one-row-200-error",
    ),
    pytest.param(rows_data([("10.0.0.0/8", "")]), "PREFIX_TOO_BROAD", id="too-broad-v4-200-error"),
    pytest.param(rows_data([("::/0", "")]), "PREFIX_TOO_BROAD", id="too-broad-v6-200-error"),
    pytest.param(rows_data([("::ffff:10.0.0.0/104", "")]), "PREFIX_TOO_BROAD", id="too-broad-mapped-200-error"),
    pytest.param(rows_data([("198.51.100.7/24", "")]), "HOST_BITS_SET", id="host-bits-200-error"),
    pytest.param(
        rows_data([("198.51.100.7", "a"), ("198.51.100.7/32", "b")]), "DUPLICATE_ENTRY", id="duplicate-rows-200-error"
    ),
    pytest.param(
        rows_data([(f"198.51.100.{n}", "") for n in range(21)]),
        "text:at most 20 allowlist entries",
        id="21-rows-200-error",
    ),
    pytest.param(
        rows_data([(f"198.51.100.{n}", "") for n in range(60)]),
        "text:at most 20 allowlist entries",
        id="60-rows-200-error",
    ),
    pytest.param(rows_data(GOOD_ROWS, total=10_000), "too_many_forms", id="total-forms-10000-200-error"),
    pytest.param(
        {**rows_data(GOOD_ROWS), "entries-TOTAL_FORMS": "abc"},
        "missing_management_form",
        id="total-forms-non-numeric-200-error",
    ),
    pytest.param(
        {**rows_data(GOOD_ROWS), "entries-TOTAL_FORMS": "9" * 10_240},
        "missing_management_form",
        id="total-forms-10kb-digits-200-error",
    ),
    pytest.param(
        {**rows_data(GOOD_ROWS), "entries-TOTAL_FORMS": "1.5"},
        "missing_management_form",
        id="total-forms-fraction-200-error",
    ),
    pytest.param(
        {**rows_data(GOOD_ROWS), "entries-TOTAL_FORMS": NUL}, "missing_management_form", id="total-forms-nul-200-error"
    ),
    pytest.param(
        {**rows_data(GOOD_ROWS), "entries-TOTAL_FORMS": DROP, "entries-INITIAL_FORMS": DROP},
        "missing_management_form",
        id="missing-management-form-200-error",
    ),
    pytest.param(rows_data(GOOD_ROWS, total=-1), "INVALID_FORM", id="total-forms-negative-200-error"),
]

# Over DATA_UPLOAD_MAX_NUMBER_FIELDS (400): Django refuses the request before any view runs.
TOO_MANY_FIELDS = rows_data([(f"198.51.100.{n}", "") for n in range(201)])


def assert_rerendered_with_error(response: Any, banner: str, expected: str) -> None:
    """The form came back with ``banner`` and an error: its code, or for a list-wide error its text."""
    assert response.status_code == 200
    html = response.content.decode()
    assert banner in html
    codes = _error_codes(response.context)
    if expected.startswith("text:"):
        assert expected.removeprefix("text:") in html
    else:
        assert expected in codes, (expected, codes)


def _error_codes(context: Any) -> set[str]:
    codes: set[str] = set()
    for name in ("form", "mode_form"):
        form = context.get(name)
        if form is not None and form.is_bound:
            codes |= {error.code for errors in form.errors.as_data().values() for error in errors}
    rows = context.get("rows")
    if rows is not None and rows.is_bound:
        codes |= {error.code for error in rows.non_form_errors().as_data()}
        for form in rows.forms:
            codes |= {error.code for errors in form.errors.as_data().values() for error in errors}
    return {str(code) for code in codes}


# ---------------------------------------------------------------------------------------------
# Create API Key
# ---------------------------------------------------------------------------------------------


def create_base(nonce: str) -> dict[str, Any]:
    return {
        "name": "Deploy bot",
        "description": "Ships builds",
        "scopes": ["keys:read", "logs:read"],
        "allowlist_mode": "enforce",
        "expires_in": "",
        "nonce": nonce,
        **rows_data(GOOD_ROWS),
    }


CREATE_FIELD_JUNK = [
    pytest.param({"name": BIG}, "max_length", id="10kb-name-200-error"),
    pytest.param({"description": BIG}, "max_length", id="10kb-description-200-error"),
    pytest.param({"name": "x" * 101}, "max_length", id="101-char-name-200-error"),
    pytest.param({"name": ""}, "required", id="empty-name-200-error"),
    pytest.param({"name": " \t "}, "required", id="blank-name-200-error"),
    pytest.param({"name": DROP}, "required", id="missing-name-200-error"),
    pytest.param({"name": "Deploy" + NUL}, "null_characters_not_allowed", id="nul-in-name-200-error"),
    pytest.param({"description": NUL}, "null_characters_not_allowed", id="nul-in-description-200-error"),
    pytest.param({"scopes": ["admin:everything"]}, "invalid_choice", id="unknown-scope-200-error"),
    pytest.param({"scopes": ["keys:read", BIG]}, "invalid_choice", id="10kb-scope-200-error"),
    pytest.param({"scopes": ["keys:read" + NUL]}, "invalid_choice", id="nul-in-scope-200-error"),
    pytest.param({"allowlist_mode": "block"}, "invalid_choice", id="bad-mode-200-error"),
    pytest.param({"allowlist_mode": DROP}, "required", id="missing-mode-200-error"),
    pytest.param({"allowlist_mode": BIG}, "invalid_choice", id="10kb-mode-200-error"),
    pytest.param({"expires_in": "-1"}, "invalid_choice", id="negative-expiry-200-error"),
    pytest.param({"expires_in": "99999999999999999999"}, "invalid_choice", id="huge-expiry-200-error"),
    pytest.param({"expires_in": "soon"}, "invalid_choice", id="text-expiry-200-error"),
    pytest.param({"expires_in": BIG}, "invalid_choice", id="10kb-expiry-200-error"),
]


@pytest.mark.parametrize(("overrides", "code"), CREATE_FIELD_JUNK + ROW_JUNK)
def test_create_with_junk_rerenders_with_an_error_and_stores_nothing(
    signed_in: Client, overrides: dict[str, Any], code: str
) -> None:
    nonce = nonce_from(signed_in, NEW)
    before = counts()
    base = create_base(nonce)
    if any(name.startswith("entries-") for name in overrides):
        base = {name: value for name, value in base.items() if not name.startswith("entries-")}
    response = signed_in.post(NEW, merged(base, overrides))
    assert_no_server_error(response)
    assert_rerendered_with_error(response, "Nothing was created", code)
    assert counts() == before


def test_create_with_too_many_fields_is_400_and_stores_nothing(signed_in: Client) -> None:
    nonce = nonce_from(signed_in, NEW)
    before = counts()
    base = {name: value for name, value in create_base(nonce).items() if not name.startswith("entries-")}
    response = signed_in.post(NEW, {**base, **TOO_MANY_FIELDS})
    assert response.status_code == 400
    assert counts() == before


def test_create_with_good_input_stores_the_key(signed_in: Client) -> None:
    """The control: the base of every case above is good input, so each refusal is about its junk."""
    before = counts()
    response = signed_in.post(NEW, create_base(nonce_from(signed_in, NEW)))
    assert response.status_code == 200
    assert "It will not be shown again" in response.content.decode()
    key = ApiKey.objects.get(name="Deploy bot")
    assert sorted(key.entries.values_list("cidr", "label")) == [
        ("192.0.2.7/32", "CI"),
        ("198.51.100.0/24", "New office"),
    ]
    assert counts()[:2] == (before[0] + 1, before[1] + 2)


def test_create_with_non_ascii_text_stores_it_unchanged(signed_in: Client) -> None:
    name, description, label = "Clé 🔑 ключ 鍵", "Déploiement — 日本語 ✓", "Büro Zürich 東京"
    data = {
        **create_base(nonce_from(signed_in, NEW)),
        "name": name,
        "description": description,
        **rows_data([("198.51.100.0/24", label)]),
    }
    response = signed_in.post(NEW, data)
    assert response.status_code == 200
    key = ApiKey.objects.get(name=name)
    assert key.description == description
    assert list(key.entries.values_list("label", flat=True)) == [label]


@pytest.mark.parametrize(
    "nonce",
    [
        pytest.param("", id="empty-nonce-302"),
        pytest.param(DROP, id="missing-nonce-302"),
        pytest.param(BIG, id="10kb-nonce-302"),
        pytest.param(NUL, id="nul-nonce-302"),
    ],
)
def test_create_without_an_issued_nonce_redirects_and_stores_nothing(signed_in: Client, nonce: Any) -> None:
    nonce_from(signed_in, NEW)
    before = counts()
    response = signed_in.post(NEW, merged(create_base("unused"), {"nonce": nonce}))
    assert response.status_code == 302
    assert response["Location"] == "/settings/developer/"
    assert counts() == before


ROW_ACTION_JUNK = [
    pytest.param("remove:99999999999999999999999", id="remove-huge-index-200"),
    pytest.param("remove:-1", id="remove-negative-index-200"),
    pytest.param("remove:", id="remove-nothing-200"),
    pytest.param("add:" + BIG, id="add-10kb-value-200"),
    pytest.param("add:" + NUL, id="add-nul-200"),
    pytest.param("explode", id="unknown-action-200"),
    pytest.param(BIG, id="10kb-action-200"),
    pytest.param("remove:" + SUPERSCRIPT_TWO, id="remove-superscript-index-200"),
    pytest.param("remove:" + "9" * 5_000, id="remove-5000-digit-index-200"),
]


@pytest.mark.parametrize("action", ROW_ACTION_JUNK)
def test_create_row_button_junk_rerenders_and_stores_nothing(signed_in: Client, action: str) -> None:
    before = counts()
    response = signed_in.post(NEW, {**create_base(nonce_from(signed_in, NEW)), "row_action": action})
    assert_no_server_error(response)
    assert response.status_code == 200
    assert counts() == before


# ---------------------------------------------------------------------------------------------
# The IP Allowlist editor
# ---------------------------------------------------------------------------------------------


def editor_url(key: ApiKey) -> str:
    return f"/settings/developer/keys/{key.pk}/allowlist/"


def editor_base() -> dict[str, Any]:
    # Good input that would change both the rows and the mode.
    return {"mode": "report", **rows_data(GOOD_ROWS)}


EDITOR_FIELD_JUNK = [
    pytest.param({"mode": "block"}, "invalid_choice", id="bad-mode-200-error"),
    pytest.param({"mode": "ENFORCE"}, "invalid_choice", id="upper-case-mode-200-error"),
    pytest.param({"mode": ""}, "required", id="empty-mode-200-error"),
    pytest.param({"mode": DROP}, "required", id="missing-mode-200-error"),
    pytest.param({"mode": BIG}, "invalid_choice", id="10kb-mode-200-error"),
    pytest.param({"mode": "report" + NUL}, "invalid_choice", id="nul-in-mode-200-error"),
]


@pytest.mark.parametrize(("overrides", "code"), EDITOR_FIELD_JUNK + ROW_JUNK)
def test_allowlist_editor_junk_rerenders_with_an_error_and_changes_nothing(
    signed_in: Client, existing: ApiKey, overrides: dict[str, Any], code: str
) -> None:
    before, state = counts(), key_state(existing)
    base = editor_base()
    if any(name.startswith("entries-") for name in overrides):
        base = {name: value for name, value in base.items() if not name.startswith("entries-")}
    response = signed_in.post(editor_url(existing), merged(base, overrides))
    assert_no_server_error(response)
    assert_rerendered_with_error(response, "Nothing was saved", code)
    assert counts() == before
    assert key_state(existing) == state


def test_allowlist_editor_with_too_many_fields_is_400_and_changes_nothing(signed_in: Client, existing: ApiKey) -> None:
    before, state = counts(), key_state(existing)
    response = signed_in.post(editor_url(existing), {"mode": "report", **TOO_MANY_FIELDS})
    assert response.status_code == 400
    assert counts() == before
    assert key_state(existing) == state


def test_allowlist_editor_with_good_input_saves(signed_in: Client, existing: ApiKey) -> None:
    """The control: the base of every case above is good input."""
    response = signed_in.post(editor_url(existing), editor_base())
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.allowlist_mode == "report"
    assert sorted(existing.entries.values_list("cidr", "label")) == [
        ("192.0.2.7/32", "CI"),
        ("198.51.100.0/24", "New office"),
    ]


@pytest.mark.parametrize("action", ROW_ACTION_JUNK)
def test_allowlist_row_button_junk_rerenders_and_changes_nothing(
    signed_in: Client, existing: ApiKey, action: str
) -> None:
    before, state = counts(), key_state(existing)
    response = signed_in.post(editor_url(existing), {**editor_base(), "row_action": action})
    assert_no_server_error(response)
    assert response.status_code == 200
    assert counts() == before
    assert key_state(existing) == state


# ---------------------------------------------------------------------------------------------
# Roll and revoke
# ---------------------------------------------------------------------------------------------


def roll_url(key: ApiKey) -> str:
    return f"/settings/developer/keys/{key.pk}/roll/"


def revoke_url(key: ApiKey) -> str:
    return f"/settings/developer/keys/{key.pk}/revoke/"


@pytest.mark.parametrize(
    "grace",
    [
        pytest.param("-1", id="negative-200-error"),
        pytest.param("-604800", id="minus-7-days-200-error"),
        pytest.param("604801", id="over-7-days-200-error"),
        pytest.param("99999999999999999999999999", id="huge-200-error"),
        pytest.param("9" * 10_240, id="10kb-digits-200-error"),
        pytest.param(BIG, id="10kb-text-200-error"),
        pytest.param("an hour", id="text-200-error"),
        pytest.param("3600.0", id="fraction-200-error"),
        pytest.param("1e3", id="exponent-200-error"),
        pytest.param("0x10", id="hex-200-error"),
        pytest.param("\u0663\u0666\u0660\u0660", id="arabic-indic-digits-200-error"),
        pytest.param("3600" + NUL, id="nul-200-error"),
        pytest.param("", id="empty-200-error"),
        pytest.param(DROP, id="missing-200-error"),
    ],
)
def test_roll_with_junk_grace_rerenders_with_an_error_and_keeps_the_secret(
    signed_in: Client, existing: ApiKey, grace: Any
) -> None:
    nonce = nonce_from(signed_in, roll_url(existing))
    before, state = counts(), key_state(existing)
    response = signed_in.post(roll_url(existing), merged({"nonce": nonce}, {"grace_seconds": grace}))
    assert_no_server_error(response)
    assert response.status_code == 200
    assert response.context["form"].errors["grace_seconds"]
    assert 'class="field-error" id="id_grace_seconds_error"' in response.content.decode()
    assert not re.search(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}", response.content.decode())
    assert counts() == before
    assert key_state(existing) == state


@pytest.mark.parametrize(
    "nonce",
    [
        pytest.param("", id="empty-nonce-302"),
        pytest.param(DROP, id="missing-nonce-302"),
        pytest.param(BIG, id="10kb-nonce-302"),
    ],
)
def test_roll_without_an_issued_nonce_redirects_and_keeps_the_secret(
    signed_in: Client, existing: ApiKey, nonce: Any
) -> None:
    nonce_from(signed_in, roll_url(existing))
    state = key_state(existing)
    response = signed_in.post(roll_url(existing), merged({"grace_seconds": "3600"}, {"nonce": nonce}))
    assert response.status_code == 302
    assert key_state(existing) == state


def test_roll_with_good_input_issues_a_new_secret(signed_in: Client, existing: ApiKey) -> None:
    """The control for the roll cases above."""
    old_hash = existing.secret_hash
    nonce = nonce_from(signed_in, roll_url(existing))
    response = signed_in.post(roll_url(existing), {"grace_seconds": "3600", "nonce": nonce})
    assert response.status_code == 200
    existing.refresh_from_db()
    assert existing.secret_hash != old_hash and existing.previous_secret_hash == old_hash


def test_roll_of_a_revoked_key_redirects_and_changes_nothing(signed_in: Client, existing: ApiKey) -> None:
    nonce = nonce_from(signed_in, roll_url(existing))
    services.key_revoke(key=existing, actor=services.Actor(user_id=existing.created_by_id))
    before, state = counts(), key_state(existing)
    response = signed_in.post(roll_url(existing), {"grace_seconds": "0", "nonce": nonce})
    assert response.status_code == 302
    assert counts() == before and key_state(existing) == state


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-302"),
        pytest.param({"confirm": BIG, "junk": NUL, "grace_seconds": "-1"}, id="10kb-and-nul-fields-302"),
        pytest.param({f"field{n}": "x" for n in range(300)}, id="300-fields-302"),
    ],
)
def test_revoke_ignores_junk_fields_and_revokes_once(signed_in: Client, existing: ApiKey, body: dict[str, str]) -> None:
    response = signed_in.post(revoke_url(existing), body)
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.revoked_at is not None
    assert existing.events.filter(action="key.revoked").count() == 1
    again = signed_in.post(revoke_url(existing), body)
    assert again.status_code == 302
    assert existing.events.filter(action="key.revoked").count() == 1


TOO_MANY_FIELDS = {f"field{n}": "x" for n in range(401)}


def test_revoke_with_too_many_fields_from_a_browser_is_refused_whole(user: Any, existing: ApiKey) -> None:
    # A browser's post passes the CSRF check, which parses the body: over the field limit,
    # Django refuses it with 400 before the view runs, and nothing changes.
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.force_login(user)
    browser.get(revoke_url(existing))
    response = browser.post(
        revoke_url(existing), {**TOO_MANY_FIELDS, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
    )
    assert response.status_code == 400
    existing.refresh_from_db()
    assert existing.revoked_at is None and existing.events.count() == 1


def test_revoke_with_too_many_fields_and_no_csrf_check_revokes_once(signed_in: Client, existing: ApiKey) -> None:
    # Without the CSRF check nothing reads the body: the revoke form has no fields.
    response = signed_in.post(revoke_url(existing), TOO_MANY_FIELDS)
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.revoked_at is not None and existing.events.filter(action="key.revoked").count() == 1


@pytest.mark.parametrize("page_name", ["allowlist", "roll", "revoke"])
@pytest.mark.parametrize(
    "key_id",
    [
        pytest.param("not-a-uuid", id="text-404"),
        pytest.param("00000000-0000-0000-0000-000000000000", id="unknown-uuid-404"),
        pytest.param("x" * 2_000, id="2kb-id-404"),
        pytest.param("%00", id="nul-404"),
    ],
)
def test_malformed_key_ids_in_page_urls_are_404(
    signed_in: Client, existing: ApiKey, page_name: str, key_id: str
) -> None:
    before, state = counts(), key_state(existing)
    for method in ("get", "post"):
        response = getattr(signed_in, method)(f"/settings/developer/keys/{key_id}/{page_name}/")
        assert response.status_code == 404, method
    assert counts() == before and key_state(existing) == state


@pytest.mark.parametrize("path", ["new", "allowlist", "roll", "revoke"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_on_the_forms_are_405(signed_in: Client, existing: ApiKey, path: str, method: str) -> None:
    url = NEW if path == "new" else f"/settings/developer/keys/{existing.pk}/{path}/"
    before, state = counts(), key_state(existing)
    response = getattr(signed_in, method)(url, "mode=report", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 405
    assert counts() == before and key_state(existing) == state


# ---------------------------------------------------------------------------------------------
# Sign in
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param(BIG, PASSWORD, id="10kb-username-200"),
        pytest.param("alice", BIG, id="10kb-password-200"),
        pytest.param(BIG, BIG, id="10kb-both-200"),
        pytest.param("alice" + NUL, PASSWORD, id="nul-in-username-200"),
        pytest.param("alice", PASSWORD + NUL, id="nul-in-password-200"),
        pytest.param("ålîcé 🔑", "pässwörd 鍵", id="non-ascii-200"),
        pytest.param("", "", id="empty-200"),
    ],
)
def test_sign_in_with_junk_rerenders_the_form_and_signs_nobody_in(user: Any, username: str, password: str) -> None:
    client = Client(raise_request_exception=False)
    response = client.post(LOGIN, {"username": username, "password": password})
    assert_no_server_error(response)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert 'name="username"' in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("field", ["username", "password"])
def test_sign_in_without_a_field_rerenders_the_form(user: Any, field: str) -> None:
    client = Client(raise_request_exception=False)
    data = {"username": "alice", "password": PASSWORD}
    del data[field]
    response = client.post(LOGIN, data)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "next_url",
    [
        pytest.param("https://evil.example/", id="absolute-offsite"),
        pytest.param("//evil.example/", id="scheme-relative-offsite"),
        pytest.param("/\\evil.example/", id="backslash-offsite"),
        pytest.param(BIG, id="10kb"),
        pytest.param(NUL, id="nul"),
    ],
)
def test_sign_in_with_a_junk_next_lands_on_the_site(user: Any, next_url: str) -> None:
    client = Client(raise_request_exception=False)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/settings/developer/"
    assert client.session["_auth_user_id"] == str(user.pk)


# ---------------------------------------------------------------------------------------------
# The API Usage Logs page
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def logged(user: Any, existing: ApiKey) -> ApiKey:
    """A few usage-log rows of the signed-in user, written by real requests."""
    services.key_update(key=existing, actor=services.Actor(user_id=user.pk), scopes=["keys:read", "logs:read"])
    _, secret = services.key_roll(key=existing, actor=services.Actor(user_id=user.pk))
    api = APIClient(REMOTE_ADDR="203.0.113.5")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for _ in range(3):
        assert api.get("/api/v1/whoami").status_code == 200
    return existing


FILTER_JUNK = [
    pytest.param("status_code=9999", id="status-9999-200-error"),
    pytest.param("status_code=6xx", id="status-6xx-200-error"),
    pytest.param("status_code=-200", id="status-negative-200-error"),
    pytest.param("status_code=" + "4" * 10_240, id="status-10kb-200-error"),
    pytest.param("status_code=%00", id="status-nul-200-error"),
    pytest.param("since=junk", id="since-junk-200-error"),
    pytest.param("since=9999-99-99T99:99", id="since-impossible-date-200-error"),
    pytest.param("since=" + "2" * 10_240, id="since-10kb-200-error"),
    pytest.param("until=%00", id="until-nul-200-error"),
    pytest.param("api_key=junk", id="api-key-junk-200-error"),
    pytest.param("api_key=00000000-0000-0000-0000-000000000000", id="api-key-unknown-200-error"),
    pytest.param("api_key=" + "a" * 10_240, id="api-key-10kb-200-error"),
    pytest.param("api_key=%00", id="api-key-nul-200-error"),
    pytest.param("client_ip=junk", id="client-ip-junk-200-error"),
    pytest.param("client_ip=010.0.0.1", id="client-ip-leading-zero-200-error"),
    pytest.param("client_ip=" + "1" * 10_240, id="client-ip-10kb-200-error"),
    pytest.param("client_ip=%00", id="client-ip-nul-200-error"),
    pytest.param("method=BREW", id="method-junk-200-error"),
    pytest.param("method=" + "G" * 10_240, id="method-10kb-200-error"),
    pytest.param("decision=maybe", id="decision-junk-200-error"),
]


@pytest.mark.parametrize("query", FILTER_JUNK)
def test_logs_page_with_a_junk_filter_shows_the_error_and_no_rows(
    signed_in: Client, logged: ApiKey, query: str
) -> None:
    before = counts()
    response = signed_in.get(f"{LOGS}?{query}")
    assert_no_server_error(response)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Correct the filters marked below" in html
    assert 'class="field-error"' in html
    assert 'data-log-id="' not in html
    assert counts() == before


CURSOR_JUNK = [
    pytest.param("before=junk", id="before-junk-200"),
    pytest.param("after=junk", id="after-junk-200"),
    pytest.param("before=-1", id="before-negative-200"),
    pytest.param("after=-1", id="after-negative-200"),
    pytest.param("before=1.5", id="before-fraction-200"),
    pytest.param("before=" + "9" * 40, id="before-huge-200"),
    pytest.param("after=" + "9" * 40, id="after-huge-200"),
    pytest.param("before=" + "9" * 10_240, id="before-10kb-digits-200"),
    pytest.param("after=" + "9" * 5_000, id="after-5000-digits-200"),
    pytest.param("after=" + "x" * 10_240, id="after-10kb-text-200"),
    pytest.param("before=%00", id="before-nul-200"),
    pytest.param("before=1&before=2&after=3", id="repeated-cursors-200"),
    pytest.param("before=" + SUPERSCRIPT_TWO, id="before-superscript-digit-200"),
    pytest.param("after=" + SUPERSCRIPT_TWO, id="after-superscript-digit-200"),
]


@pytest.mark.parametrize("query", CURSOR_JUNK)
def test_logs_page_with_a_junk_cursor_is_not_an_error(signed_in: Client, logged: ApiKey, query: str) -> None:
    response = signed_in.get(f"{LOGS}?{query}")
    assert_no_server_error(response)
    assert response.status_code == 200
    assert "Correct the filters marked below" not in response.content.decode()


def test_logs_page_with_a_junk_cursor_falls_back_to_the_newest_rows(signed_in: Client, logged: ApiKey) -> None:
    newest = signed_in.get(LOGS).content.decode()
    shown = re.findall(r'data-log-id="(\d+)"', newest)
    assert len(shown) == 3
    assert re.findall(r'data-log-id="(\d+)"', signed_in.get(f"{LOGS}?before=junk").content.decode()) == shown


def test_logs_page_with_every_field_oversized_at_once(signed_in: Client, logged: ApiKey) -> None:
    names = [
        "api_key",
        "method",
        "status_code",
        "decision",
        "blocked",
        "client_ip",
        "since",
        "until",
        "before",
        "after",
        "unknown",
    ]
    response = signed_in.get(LOGS, dict.fromkeys(names, BIG))
    assert response.status_code == 200
    assert 'data-log-id="' not in response.content.decode()


# ---------------------------------------------------------------------------------------------
# The API: a body over DATA_UPLOAD_MAX_MEMORY_SIZE
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def writer(user: Any, existing: ApiKey) -> APIClient:
    services.key_update(key=existing, actor=services.Actor(user_id=user.pk), scopes=["keys:read", "keys:write"])
    _, secret = services.key_roll(key=existing, actor=services.Actor(user_id=user.pk))
    client = APIClient(REMOTE_ADDR="203.0.113.5")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def oversized(settings: Any, shape: str) -> str:
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024
    if shape == "one-huge-label":
        body = {"entries": [{"cidr": "203.0.113.5", "label": "x" * size}], "mode": "report"}
    else:
        body = {"entries": [{"cidr": "198.51.100.7", "label": "y" * 90}] * (size // 100), "mode": "report"}
    payload = json.dumps(body)
    assert len(payload) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return payload


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("PUT", "/api/v1/keys/{key}/allowlist", id="PUT-allowlist-4xx"),
        pytest.param("POST", "/api/v1/keys/{key}/allowlist", id="POST-allowlist-4xx"),
        pytest.param("PATCH", "/api/v1/keys/{key}/allowlist/{entry}", id="PATCH-entry-4xx"),
    ],
)
@pytest.mark.parametrize("shape", ["one-huge-label", "many-entries"])
def test_api_body_over_the_upload_limit_is_a_4xx_envelope_and_changes_nothing(
    writer: APIClient, existing: ApiKey, settings: Any, method: str, path: str, shape: str
) -> None:
    before, state = counts(), key_state(existing)
    url = path.format(key=existing.pk, entry=existing.entries.first().pk)
    response = writer.generic(method, url, oversized(settings, shape), content_type="application/json")
    assert 400 <= response.status_code < 500, response.status_code
    error = response.json()["error"]
    assert error["code"] in {"BAD_REQUEST", "MALFORMED_REQUEST", "PAYLOAD_TOO_LARGE", "REQUEST_TOO_LARGE"}, error
    assert error["message"]
    assert counts() == before
    assert key_state(existing) == state


def test_api_body_just_under_the_upload_limit_is_read(writer: APIClient, existing: ApiKey, settings: Any) -> None:
    """The control: a body the same shape but under the limit is parsed and validated."""
    label = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2)
    response = writer.put(
        f"/api/v1/keys/{existing.pk}/allowlist", {"entries": [{"cidr": "203.0.113.5", "label": label}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["entries.0.label"][0]["code"] == "LABEL_TOO_LONG"
