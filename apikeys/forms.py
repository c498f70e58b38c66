"""Forms shared by the settings pages and the admin. Every rule is the one in networks/services."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .conf import conf
from .models import AllowlistMode, ApiKey, WorkspacePolicy
from .networks import MESSAGES, TOO_MANY_ENTRIES, EntryInput, find_overlaps, normalize_cidr, validate_allowlist
from .windows import DURATIONS

ENTRY_PREFIX = "entries"
_NONCE_SESSION_KEY = "keyfence_form_nonces"
_NONCES_KEPT = 10

_FormT = TypeVar("_FormT", bound=forms.Form)


class EntryForm(forms.Form):
    """One allowlist row. Its rules run over the whole list in :class:`BaseEntryFormSet`.

    The window (SPEC §15) is text in UTC, ``YYYY-MM-DDTHH:MM[:SS]``, parsed by the one window rule.
    """

    cidr = forms.CharField(label="IP address or CIDR", required=False, strip=False)
    label = forms.CharField(label="Label", required=False, strip=False)
    not_before = forms.CharField(label="Starts (UTC)", required=False)
    expires_at = forms.CharField(label="Expires (UTC)", required=False)

    def is_blank(self) -> bool:
        """True for a row left empty, which is skipped rather than refused."""
        data = self.cleaned_data
        return not (data.get("cidr", "").strip() or data.get("label", "").strip())


def apply_allowlist_errors(forms_in_order: Sequence[forms.BaseForm], exc: ValidationError) -> list[str]:
    """Attach the errors of :func:`validate_allowlist` to their rows; return list-wide ones."""
    if not hasattr(exc, "error_dict"):
        return exc.messages
    for path, errors in exc.error_dict.items():
        index, _, field = path.partition(".")
        form = forms_in_order[int(index)]
        for error in errors:
            form.add_error(field or None, error)
    return []


def validate_rows(rows: Sequence[forms.BaseForm]) -> tuple[list[EntryInput], list[str]]:
    """Run the one list rule over rows whose own fields are valid."""
    items = [
        {
            "cidr": form.cleaned_data["cidr"],
            "label": form.cleaned_data.get("label", ""),
            "not_before": form.cleaned_data.get("not_before") or None,
            "expires_at": form.cleaned_data.get("expires_at") or None,
        }
        for form in rows
    ]
    try:
        return validate_allowlist(items), []
    except ValidationError as exc:
        return [], apply_allowlist_errors(rows, exc)


class BaseEntryFormSet(forms.BaseFormSet):
    """Allowlist rows posted as a formset; blank rows are ignored.

    After ``is_valid()``, ``entries`` holds what :func:`validate_allowlist` returned.
    """

    entries: list[EntryInput]
    # Set by BaseFormSet.__init__ from default_error_messages; the stubs leave it out.
    error_messages: dict[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Far more rows than any list may hold: the same message as the list rule's.
        self.error_messages["too_many_forms"] = MESSAGES[TOO_MANY_ENTRIES].format(maximum=conf.MAX_ALLOWLIST_ENTRIES)

    def clean(self) -> None:
        self.entries = []
        if (self.management_form.cleaned_data.get(forms.formsets.TOTAL_FORM_COUNT) or 0) < 0:
            # Django reads a negative count as zero rows, which would silently drop the list.
            raise ValidationError(
                "The form was not sent as the page built it. Reload and try again.", code="INVALID_FORM"
            )
        if any(form.errors for form in self.forms):
            return
        rows = [form for form in self.forms if not form.is_blank()]
        self.entries, errors = validate_rows(rows)
        if errors:
            raise ValidationError(errors)

    def raw_rows(self) -> list[dict[str, str]]:
        """The rows as posted, errors or not."""
        return [{name: form[name].data or "" for name in ROW_FIELDS} for form in self.forms]


# Up to the list limit the list rule answers (TOO_MANY_ENTRIES); far beyond it the formset
# refuses before building thousands of forms.
# The stubs type the factory's result as a plain BaseFormSet; it is a subclass of the one given.
EntryFormSet = cast(
    type[BaseEntryFormSet],
    forms.formset_factory(EntryForm, formset=BaseEntryFormSet, extra=0, max_num=50, absolute_max=50),
)


_SMALL_INDEX = re.compile(r"[0-9]{1,3}")
ROW_FIELDS = ("cidr", "label", "not_before", "expires_at")


def rows_after_action(formset: BaseEntryFormSet, action: str, duration: str = "") -> list[dict[str, str]]:
    """Apply a row button pressed without JavaScript: ``add``, ``add:<ip>``, ``addmine:<ip>`` or
    ``remove:<index>``. ``addmine`` adds the address for ``duration`` (seconds, from "Add my IP")."""
    rows = formset.raw_rows()
    verb, _, argument = action.partition(":")
    if verb == "remove" and _SMALL_INDEX.fullmatch(argument) and int(argument) < len(rows):
        rows.pop(int(argument))
    elif verb in ("add", "addmine"):
        expires = expiry_after(duration) if verb == "addmine" else ""
        blank = next((row for row in rows if not row["cidr"].strip()), None)
        if argument and blank is not None:
            blank.update(cidr=argument, expires_at=expires)
        elif len(rows) < conf.MAX_ALLOWLIST_ENTRIES:
            rows.append({"cidr": argument, "label": "", "not_before": "", "expires_at": expires})
    return rows


def window_text(moment: datetime | None) -> str:
    """A window bound as the row's input shows it: UTC, to the second."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def expiry_after(duration: str) -> str:
    """The expiry of an address added "for 1 hour" (or a day, or 7 days) from now; "" is permanent."""
    seconds = {value: span for value, _, span in DURATIONS}.get(duration)
    return window_text(timezone.now() + seconds) if seconds else ""


def duration_choices() -> list[tuple[str, str]]:
    return [(value, label) for value, label, _ in DURATIONS]


def unbound_copy(form: _FormT) -> _FormT:
    """The same form showing what was typed, without validating it (used after a row button).

    A form built with keyword arguments of its own keeps them in ``own_kwargs``.
    """
    initial = {name: form[name].data for name in form.fields}
    return type(form)(initial=initial, **getattr(form, "own_kwargs", {}))


def overlap_notes(values: list[str]) -> dict[str, str]:
    """Map each canonical entry lying inside another to a warning about it."""
    canonical = []
    for value in values:
        try:
            canonical.append(normalize_cidr(value))
        except ValidationError:
            continue
    return {warning["cidr"]: warning["message"] for warning in find_overlaps(set(canonical))}


def _model_max(field: str) -> int | None:
    model_field = ApiKey._meta.get_field(field)
    return model_field.max_length if isinstance(model_field, models.Field) else None


EXPIRY_CHOICES = [("", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In 1 year")]


def expiry_choices(max_days: int | None) -> list[tuple[str, str]]:
    """The expiry menu; with a longest lifetime (SPEC §14), only what it allows, ending with that lifetime."""
    if max_days is None:
        return EXPIRY_CHOICES
    shorter = [(value, label) for value, label in EXPIRY_CHOICES if value and int(value) < max_days]
    return [*shorter, (str(max_days), f"In {max_days} days, the longest this workspace allows")]


class KeyForm(forms.Form):
    """Name, description, scopes, allowlist mode and expiry of a new key."""

    name = forms.CharField(
        label="Name", max_length=_model_max("name"), help_text="For example the server or job that will use the key."
    )
    description = forms.CharField(
        label="Description",
        max_length=_model_max("description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    scopes = forms.MultipleChoiceField(label="Scopes", required=False, widget=forms.CheckboxSelectMultiple)
    allowlist_mode = forms.ChoiceField(
        label="Allowlist mode", choices=AllowlistMode.choices, initial=AllowlistMode.ENFORCE, widget=forms.RadioSelect
    )
    expires_in = forms.TypedChoiceField(
        label="Expires", choices=EXPIRY_CHOICES, required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, policy: WorkspacePolicy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The workspace's policies (SPEC §14), for the page to say what they ask.
        self.policy = policy
        self.own_kwargs = {"policy": policy}
        cast(forms.MultipleChoiceField, self.fields["scopes"]).choices = list(conf.all_scopes.items())
        max_lifetime_days = policy.max_key_lifetime_days if policy is not None else None
        if max_lifetime_days is not None:
            # The workspace's longest lifetime is the default; the service refuses anything later.
            expires = cast(forms.TypedChoiceField, self.fields["expires_in"])
            expires.choices = expiry_choices(max_lifetime_days)
            expires.required = True
            expires.initial = str(max_lifetime_days)
            expires.help_text = f"This workspace's keys must expire within {max_lifetime_days} days."


class ModeForm(forms.Form):
    """The allowlist mode switch."""

    mode = forms.ChoiceField(label="Mode", choices=AllowlistMode.choices, widget=forms.RadioSelect)


GRACE_CHOICES = [
    (0, "Stop working at once"),
    (3600, "Keep working for 1 hour"),
    (86400, "Keep working for 24 hours"),
    (7 * 86400, "Keep working for 7 days"),
]


class RollForm(forms.Form):
    """How long the old secret keeps working after a roll."""

    grace_seconds = forms.TypedChoiceField(
        label="The current secret",
        choices=GRACE_CHOICES,
        coerce=int,
        initial=0,
        help_text="Keep it working for a while if programs need time to switch to the new secret.",
    )


# A service's field name, and the form field that stands for it.
FORM_FIELDS = {"expires_at": "expires_in", "default_rate_limit": "rate_limit_requests"}


def add_service_errors(form: forms.Form, exc: ValidationError, *, list_field: str | None = None) -> list[str]:
    """Show a service's ``ValidationError`` on the form: on its field when the form has one.

    The errors of ``list_field`` (an allowlist, as ``allowlist`` or ``allowlist.2.cidr``) are
    returned instead, for the entry editor to show beside the rows.
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return []
    for_list: list[str] = []
    for path, errors in exc.error_dict.items():
        if list_field is not None and path.partition(".")[0] == list_field:
            for_list += [message for error in errors for message in error.messages]
            continue
        field = FORM_FIELDS.get(path, path)
        form.add_error(field if field in form.fields else None, errors)
    return for_list


def issue_nonce(session: SessionBase) -> str:
    """A one-time token for a form whose success must not happen twice (create, roll)."""
    nonce = secrets.token_urlsafe(24)
    session[_NONCE_SESSION_KEY] = [*session.get(_NONCE_SESSION_KEY, [])[-(_NONCES_KEPT - 1) :], nonce]
    return nonce


def consume_nonce(session: SessionBase, nonce: str) -> bool:
    """True exactly once per issued token, even for two posts racing each other."""
    issued = session.get(_NONCE_SESSION_KEY, [])
    if not nonce or nonce not in issued:
        return False
    session[_NONCE_SESSION_KEY] = [value for value in issued if value != nonce]
    # The session is saved only after the response; the cache decides between concurrent posts.
    return cache.add(f"keyfence:form-nonce:{nonce}", True, timeout=24 * 3600)
