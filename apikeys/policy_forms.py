"""The Policies page's form. It parses what was typed; ``services.policy_update`` judges the values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from .models import LeakResponse, WorkspacePolicy
from .networks import EntryInput
from .policy_rules import INACTIVE_DAYS, LIFETIME_DAYS, RATE_LIMIT_PERIODS

PERIOD_CHOICES = [("", "—"), *((period, period) for period in RATE_LIMIT_PERIODS)]


class PolicyForm(forms.Form):
    """Every policy but the default allowlist, whose rows are an entry formset of their own."""

    require_allowlist = forms.BooleanField(
        label="Require an IP allowlist on every key",
        required=False,
        help_text="Keys cannot be created or saved with an empty allowlist. Existing unrestricted keys keep "
        "working and are marked as breaking the policy.",
    )
    max_key_lifetime_days = forms.IntegerField(
        label="Longest key lifetime, in days",
        required=False,
        help_text="From {} to {}. New keys must expire within it, and the create form offers it as the default. "
        "Leave empty for no limit.".format(*LIFETIME_DAYS),
    )
    inactive_key_days = forms.IntegerField(
        label="Revoke keys unused for this many days",
        required=False,
        help_text="From {} to {}, counted from a key's last use, or its creation if it was never used. "
        "Leave empty to keep unused keys.".format(*INACTIVE_DAYS),
    )
    leak_response = forms.ChoiceField(
        label="When a key is reported leaked", choices=LeakResponse.choices, initial=LeakResponse.RESTRICT
    )
    rate_limit_requests = forms.IntegerField(label="Requests", required=False)
    rate_limit_per = forms.ChoiceField(label="per", choices=PERIOD_CHOICES, required=False)

    @classmethod
    def for_policy(cls, policy: WorkspacePolicy) -> PolicyForm:
        """An unbound form showing the workspace's current policies."""
        rate = policy.default_rate_limit or {}
        return cls(
            initial={
                "require_allowlist": policy.require_allowlist,
                "max_key_lifetime_days": policy.max_key_lifetime_days,
                "inactive_key_days": policy.inactive_key_days,
                "leak_response": policy.leak_response,
                "rate_limit_requests": rate.get("requests"),
                "rate_limit_per": rate.get("per", ""),
            }
        )

    def changes(self, default_allowlist: Sequence[EntryInput]) -> dict[str, Any]:
        """What to pass to ``policy_update``: every policy, from a valid form and its rows."""
        data = self.cleaned_data
        requests, per = data["rate_limit_requests"], data["rate_limit_per"]
        rate_limit = None if requests is None and not per else {"requests": requests, "per": per}
        return {
            "require_allowlist": data["require_allowlist"],
            "default_allowlist": list(default_allowlist),
            "max_key_lifetime_days": data["max_key_lifetime_days"],
            "inactive_key_days": data["inactive_key_days"],
            "leak_response": data["leak_response"],
            "default_rate_limit": rate_limit,
        }
