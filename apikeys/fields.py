"""The base of the API's input fields that let the project's own rule, not DRF, judge ``null``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ValidatedField(serializers.Field):
    """A field whose one rule (its validator, or the service it hands the value to) judges every
    JSON value, ``null`` included.

    DRF would answer ``null`` with its own ``NULL`` code before that rule could say what the
    contract says (``INVALID_IP`` for a cidr, ``INVALID_ROLE`` for a role).
    """

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return False, data
        return super().validate_empty_values(data)

    def to_representation(self, value: Any) -> Any:
        return value
