"""Request and response shapes of the rollout assistant (SPEC §15): suggestions and simulation."""

from __future__ import annotations

from rest_framework import serializers

from .rollout import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS
from .serializers import AllowlistInputField, StrictSerializer


def days_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=MIN_DAYS,
        max_value=MAX_DAYS,
        required=False,
        default=DEFAULT_DAYS,
        help_text=f"How many days of logged requests, {MIN_DAYS} to {MAX_DAYS}.",
    )


class SuggestionsQuerySerializer(serializers.Serializer):
    """The window of logged requests to learn from."""

    days = days_field()


class SimulateSerializer(StrictSerializer):
    """A proposed list to replay the key's traffic against; left out, the key's current list."""

    entries = AllowlistInputField(
        required=False, help_text="The proposed entries; left out: the current list; []: no list, which allows all."
    )
    days = days_field()


class SuggestionSerializer(serializers.Serializer):
    """One proposed entry and the logged traffic it covers."""

    cidr = serializers.CharField()
    requests = serializers.IntegerField(help_text="Logged requests from addresses in this entry.")
    addresses = serializers.IntegerField(help_text="Distinct addresses in this entry.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    covered = serializers.BooleanField(help_text="Whether the key's current list already lets every one of them in.")


class LeftOutSerializer(serializers.Serializer):
    addresses = serializers.IntegerField()
    requests = serializers.IntegerField()


class SuggestionsSerializer(serializers.Serializer):
    """At most 20 entries covering the addresses the key was used from."""

    days = serializers.IntegerField()
    requests = serializers.IntegerField(help_text="Logged requests of the key in the window.")
    addresses = serializers.IntegerField(help_text="Distinct client addresses among them.")
    entries = SuggestionSerializer(many=True)
    left_out = LeftOutSerializer(
        help_text="Addresses not covered, because even /9 and /33 ranges could not fit them all in 20 entries."
    )


class BlockedAddressSerializer(serializers.Serializer):
    ip = serializers.CharField(allow_null=True, help_text="null for requests whose address was unknown.")
    requests = serializers.IntegerField()
    last_seen = serializers.DateTimeField()


class SimulationSerializer(serializers.Serializer):
    """What the list would have done to the key's logged requests, enforced."""

    days = serializers.IntegerField()
    requests = serializers.IntegerField()
    allowed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    addresses = serializers.IntegerField(help_text="Distinct client addresses in the window.")
    blocked_address_count = serializers.IntegerField(help_text="How many of them the list would block.")
    addresses_blocked = BlockedAddressSerializer(many=True, help_text="The 20 most-blocked addresses, busiest first.")
