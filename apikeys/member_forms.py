"""The Add member form of Settings > Members; workspaces.members decides what is valid."""

from __future__ import annotations

from typing import Any

from django import forms

from workspaces.members import USER_MAX
from workspaces.models import Role


class MemberAddForm(forms.Form):
    user = forms.CharField(label="Username or e-mail", max_length=USER_MAX, strip=True)
    # A plain text value: the service answers an unknown role with INVALID_ROLE.
    role = forms.CharField(label="Role", initial=Role.VIEWER)

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].widget = forms.Select(choices=[(role.value, role.label) for role in roles])
        self.fields["user"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
