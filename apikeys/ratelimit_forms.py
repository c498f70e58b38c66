"""The Limits fields of the create form and the key's Limits page. They parse what was typed;
``services.key_create`` and ``key_update`` judge it (``INVALID_RATE_LIMIT``, ``INVALID_QUOTA``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .policy_forms import PERIOD_CHOICES
from .ratelimit_rules import MAX_MONTHLY_QUOTA

# A service's field name, and the form field that stands for it.
_FIELDS = {"rate_limit": "rate_limit_requests", "monthly_quota": "monthly_quota"}


class LimitsForm(forms.Form):
    """A rate limit (requests per second, minute or hour) and a monthly quota, each optional."""

    rate_limit_requests = forms.IntegerField(label="Requests", required=False)
    rate_limit_per = forms.ChoiceField(label="per", choices=PERIOD_CHOICES, required=False)
    monthly_quota = forms.IntegerField(
        label="Monthly quota",
        required=False,
        help_text=f"Requests per calendar month (UTC), up to {MAX_MONTHLY_QUOTA:,}. Leave empty for no quota.",
    )

    @classmethod
    def showing(cls, rate_limit: Any, monthly_quota: Any, **kwargs: Any) -> LimitsForm:
        """An unbound form showing these limits."""
        rate = rate_limit or {}
        initial = {
            "rate_limit_requests": rate.get("requests"),
            "rate_limit_per": rate.get("per", ""),
            "monthly_quota": monthly_quota,
        }
        return cls(initial=initial, **kwargs)

    def limits(self) -> dict[str, Any]:
        """``rate_limit`` and ``monthly_quota`` for the services, from a valid form."""
        data = self.cleaned_data
        requests, per = data["rate_limit_requests"], data["rate_limit_per"]
        rate_limit = None if requests is None and not per else {"requests": requests, "per": per}
        return {"rate_limit": rate_limit, "monthly_quota": data["monthly_quota"]}

    def take_errors(self, exc: ValidationError) -> ValidationError:
        """Put a service's errors about the limits on their fields; return the other errors."""
        if not hasattr(exc, "error_dict"):
            return exc
        rest: dict[str, Any] = {}
        for path, errors in exc.error_dict.items():
            if path in _FIELDS:
                self.add_error(_FIELDS[path], errors)
            else:
                rest[path] = errors
        return ValidationError(rest)
