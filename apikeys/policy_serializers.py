"""Request and response shapes of the policies API (SPEC §14). The rules live in policy_rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from .models import LeakResponse
from .networks import MAX_LABEL_LENGTH
from .policy_rules import INACTIVE_DAYS, LIFETIME_DAYS, RATE_LIMIT_PERIODS, RATE_LIMIT_REQUESTS
from .serializers import EntryInputSerializer, StrictSerializer

RATE_LIMIT_PERIOD_CHOICES = [(period, period) for period in RATE_LIMIT_PERIODS]


class RateLimitSerializer(StrictSerializer):
    """At most ``requests`` requests per ``per`` (SPEC §18)."""

    requests = serializers.IntegerField(min_value=RATE_LIMIT_REQUESTS[0], max_value=RATE_LIMIT_REQUESTS[1])
    per = serializers.ChoiceField(choices=RATE_LIMIT_PERIOD_CHOICES)


class PolicyEntrySerializer(serializers.Serializer):
    """An entry of the default allowlist, in canonical form."""

    cidr = serializers.CharField()
    label = serializers.CharField(max_length=MAX_LABEL_LENGTH, allow_blank=True)  # type: ignore[assignment]  # a declared field, not Field.label


class PolicySerializer(serializers.Serializer):
    """The workspace's policies; a workspace that never changed them has the defaults."""

    require_allowlist = serializers.BooleanField(
        help_text="Keys cannot be created or saved with an empty allowlist (ALLOWLIST_REQUIRED)."
    )
    default_allowlist = PolicyEntrySerializer(
        many=True, help_text="What a new key's allowlist starts with when the request gives none."
    )
    max_key_lifetime_days = serializers.IntegerField(
        allow_null=True, help_text="Keys must expire within this many days (EXPIRY_TOO_LATE); null: no limit."
    )
    inactive_key_days = serializers.IntegerField(
        allow_null=True, help_text="Keys unused for this many days are revoked with reason inactive; null: never."
    )
    leak_response = serializers.ChoiceField(
        choices=LeakResponse.choices, help_text="What a report of a leaked key does to it."
    )
    default_rate_limit = RateLimitSerializer(allow_null=True, help_text="For new keys that set none; null: none.")
    updated_at = serializers.DateTimeField(allow_null=True, help_text="When they last changed; null: never.")


class PolicyUpdateSerializer(StrictSerializer):
    """The policies to change; those left out keep their values. Every value is checked before
    any is applied."""

    # The fields describe the values for the schema; the values themselves go to
    # services.policy_update as sent, which checks them all under its own codes.

    require_allowlist = serializers.BooleanField(required=False)
    default_allowlist = EntryInputSerializer(
        many=True, required=False, help_text="0 to 20 entries, as in a key's allowlist."
    )
    max_key_lifetime_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=LIFETIME_DAYS[0], max_value=LIFETIME_DAYS[1]
    )
    inactive_key_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=INACTIVE_DAYS[0], max_value=INACTIVE_DAYS[1]
    )
    leak_response = serializers.ChoiceField(choices=LeakResponse.choices, required=False)
    default_rate_limit = RateLimitSerializer(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and set(data) <= set(self.fields):
            return {name: data[name] for name in self.fields if name in data}
        # Unknown fields (UNKNOWN_FIELD), or a body that is not an object.
        return super().to_internal_value(data)
