"""Forms shared by the settings pages and the admin. Every rule is the one in networks/services."""
from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .conf import conf
from .models import AllowlistMode
from .networks import EntryInput, normalize_cidr, validate_allowlist, validate_label


class EntryForm(forms.Form):
    """One allowlist row."""

    cidr = forms.CharField(label="IP address or CIDR", max_length=200, strip=False)
    label = forms.CharField(label="Label", required=False, max_length=200, strip=False)

    def clean_cidr(self) -> str:
        return normalize_cidr(self.cleaned_data["cidr"])

    def clean_label(self) -> str:
        return validate_label(self.cleaned_data.get("label"))


def apply_allowlist_errors(forms_in_order: list[forms.Form], exc: ValidationError) -> list[str]:
    """Attach the errors of :func:`validate_allowlist` to their rows; return list-wide ones."""
    if not hasattr(exc, "error_dict"):
        return [message for error in exc.error_list for message in error]
    for path, errors in exc.error_dict.items():
        index, _, field = path.partition(".")
        form = forms_in_order[int(index)]
        for error in errors:
            form.add_error(field or None, error)
    return []


def validate_rows(rows: list[forms.Form]) -> tuple[list[EntryInput], list[str]]:
    """Run the one list rule over rows whose own fields are valid."""
    items = [{"cidr": form.cleaned_data["cidr"], "label": form.cleaned_data.get("label", "")} for form in rows]
    try:
        return validate_allowlist(items), []
    except ValidationError as exc:
        return [], apply_allowlist_errors(rows, exc)


class KeyForm(forms.Form):
    """Name, description, scopes and mode of a key."""

    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(label="Description", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    scopes = forms.MultipleChoiceField(label="Scopes", required=False, widget=forms.CheckboxSelectMultiple)
    allowlist_mode = forms.ChoiceField(label="Allowlist mode", choices=AllowlistMode.choices, initial=AllowlistMode.ENFORCE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(name, f"{name}: {text}") for name, text in conf.all_scopes.items()]
