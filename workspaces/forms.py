"""The New workspace form; the service decides what is valid."""

from __future__ import annotations

from django import forms

from .services import NAME_MAX, SLUG_MAX


class WorkspaceForm(forms.Form):
    name = forms.CharField(label="Name", max_length=NAME_MAX, strip=True)
    slug = forms.CharField(
        label="Slug",
        required=False,
        max_length=SLUG_MAX,
        help_text="Lower-case letters, digits and hyphens. Left empty, it is made from the name.",
    )
