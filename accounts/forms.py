"""The sign-in form, with brute-force lockout."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from apikeys.client_ip import get_client_ip

from . import throttle

LOCKED_OUT = "LOCKED_OUT"
LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again in 15 minutes."
SIGN_IN_UNAVAILABLE = "SIGN_IN_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "Sign-in is briefly unavailable. Try again in a minute."


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form that refuses attempts while the username or IP is locked out."""

    def clean(self) -> dict[str, Any]:
        address = get_client_ip(self.request) if self.request is not None else None
        subject = throttle.Subject(self.cleaned_data.get("username") or "", address.text if address else "unknown")
        try:
            locked = throttle.is_locked(subject)
        except Exception:  # noqa: BLE001 - the shared cache is down: without the lockout, refuse rather than allow guessing
            raise forms.ValidationError(UNAVAILABLE_MESSAGE, code=SIGN_IN_UNAVAILABLE) from None
        if locked:
            raise forms.ValidationError(LOCKED_MESSAGE, code=LOCKED_OUT)
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(subject)
            raise
        throttle.record_success(subject)
        return cleaned
