"""Request and response shapes of the keys API. Validation rules live in networks and services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workspaces.models import Workspace

from . import networks, windows
from .fields import ValidatedField
from .models import AllowlistEntry, AllowlistMode, ApiKey, AuditEvent
from .policy_fields import PolicyViolationsField
from .ratelimit_fields import MonthlyQuotaField, MonthlyUsageField, RateLimitField

UNKNOWN_FIELD = "UNKNOWN_FIELD"


class StrictSerializer(serializers.Serializer):
    """Refuse fields it does not know, as Stripe does, instead of silently dropping them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("This field is not recognised.", code=UNKNOWN_FIELD)]
                        for name in unknown[:20]
                    }
                )
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ScopeField(TextField):
    """One scope in a request; :func:`services.key_create` checks it against the known scopes."""


@extend_schema_field(
    {
        "type": "string",
        "maxLength": networks.MAX_INPUT_LENGTH,
        "example": "203.0.113.0/24",
        "description": "An IP address or a CIDR range, such as 203.0.113.5 or 2001:db8::/48.",
    }
)
class CidrField(ValidatedField):
    """One entry's address or range, normalized by :func:`networks.normalize_cidr`."""

    def to_internal_value(self, data: Any) -> str:
        return networks.normalize_cidr(data)


@extend_schema_field(
    {
        "type": "string",
        "maxLength": networks.MAX_LABEL_LENGTH,
        "nullable": True,
        "example": "office",
        "description": "Optional; null or an empty string means no label.",
    }
)
class LabelField(ValidatedField):
    """An entry's label, checked by :func:`networks.validate_label`; ``null`` means no label."""

    def to_internal_value(self, data: Any) -> str:
        return networks.validate_label(data)


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "nullable": True,
        "example": "2026-05-01T09:00:00Z",
        "description": "Optional, UTC. Outside not_before .. expires_at the entry matches nothing (INVALID_WINDOW).",
    }
)
class WindowField(ValidatedField):
    """One bound of an entry's window; the pair is checked by :func:`windows.validate_window`."""

    def to_internal_value(self, data: Any) -> Any:
        return windows.parse_moment(data)


class EntryInputSerializer(StrictSerializer):
    """One allowlist entry: an address or a range, an optional label and an optional window."""

    cidr = CidrField()
    label = LabelField(required=False)  # type: ignore[assignment]  # a declared field, not Field.label
    not_before = WindowField(required=False)
    expires_at = WindowField(required=False)


@extend_schema_field(EntryInputSerializer(many=True))
class AllowlistInputField(serializers.Field):
    """A whole allowlist, validated by :func:`networks.validate_allowlist`."""

    def to_internal_value(self, data: Any) -> list[networks.EntryInput]:
        return networks.validate_allowlist(data)

    def to_representation(self, value: Any) -> Any:
        return value


KEY_STATUSES = [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]


class OverlapWarningSerializer(serializers.Serializer):
    """An entry that lies inside another: allowed, but pointed out."""

    code = serializers.CharField(help_text="ENTRY_OVERLAPS")
    cidr = serializers.CharField()
    within = serializers.CharField()
    message = serializers.CharField()


ENTRY_STATUSES = [("active", "Active"), ("scheduled", "Scheduled"), ("expired", "Expired")]


class AllowlistEntrySerializer(serializers.ModelSerializer):
    """One allowlist entry, its window, and when it last let a request through."""

    status = serializers.ChoiceField(
        choices=ENTRY_STATUSES,
        read_only=True,
        help_text="scheduled before not_before, expired from expires_at on; either way it matches nothing.",
    )

    class Meta:
        model = AllowlistEntry
        fields = ["id", "cidr", "label", "not_before", "expires_at", "status", "created_at", "last_matched_at"]
        read_only_fields = fields


class ApiKeySerializer(serializers.ModelSerializer):
    """The key object. The hash never appears; the full key only in create and roll responses."""

    allowlist = AllowlistEntrySerializer(source="entries", many=True, read_only=True)
    # A stored scope the host project no longer defines is still shown, so no enum here.
    scopes = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Scopes such as keys:read, keys:write and logs:read."
    )
    status = serializers.ChoiceField(choices=KEY_STATUSES, read_only=True)
    policy_violations = PolicyViolationsField()
    rate_limit = RateLimitField(read_only=True)
    monthly_quota = MonthlyQuotaField(read_only=True)
    monthly_usage = MonthlyUsageField()
    workspace: serializers.SlugRelatedField[Workspace] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The slug of the workspace the key belongs to."
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The username of who created the key; null for a key made by the command line or a removed user.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "workspace",
            "name",
            "description",
            "prefix",
            "scopes",
            "allowlist",
            "allowlist_mode",
            "status",
            "policy_violations",
            "created_at",
            "created_by",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_used_ip",
            "rate_limit",
            "monthly_quota",
            "monthly_usage",
        ]
        read_only_fields = fields


class ApiKeyWithSecretSerializer(ApiKeySerializer):
    """The key object with its full secret, shown only in this response."""

    key = serializers.CharField(read_only=True, help_text="The full key. Shown only in this response.")
    warnings = OverlapWarningSerializer(many=True, read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key", "warnings"]
        read_only_fields = fields


class KeyCreateSerializer(StrictSerializer):
    """A new key: its name, and optionally its scopes, allowlist, mode and expiry."""

    name = TextField(max_length=100, trim_whitespace=True)
    description = TextField(max_length=500, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=ScopeField(max_length=100), required=False, default=list, max_length=100)
    # Left out, the key gets the workspace's default allowlist; [] asks for none.
    allowlist = AllowlistInputField(required=False)
    allowlist_mode = serializers.ChoiceField(
        choices=AllowlistMode.choices, required=False, default=AllowlistMode.ENFORCE
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    # Left out, the key gets the workspace's default_rate_limit; null asks for none.
    rate_limit = RateLimitField(required=False)
    monthly_quota = MonthlyQuotaField(required=False)


class KeyUpdateSerializer(StrictSerializer):
    """The fields to change; those left out keep their values."""

    name = TextField(max_length=100, required=False)
    description = TextField(max_length=500, required=False, allow_blank=True)
    scopes = serializers.ListField(child=ScopeField(max_length=100), required=False, max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    allowlist_mode = serializers.ChoiceField(choices=AllowlistMode.choices, required=False)
    rate_limit = RateLimitField(required=False)
    monthly_quota = MonthlyQuotaField(required=False)


class KeyRollSerializer(StrictSerializer):
    """How long the old secret keeps working."""

    # The range (0 to KEYFENCE_MAX_ROLL_GRACE_SECONDS) is the service's rule: INVALID_GRACE.
    grace_seconds = serializers.IntegerField(
        required=False, default=0, help_text="Seconds the old secret keeps working: 0 to 7 days."
    )


class AllowlistSerializer(serializers.Serializer):
    """A key's allowlist: its mode, its entries, and entries that lie inside others."""

    mode = serializers.ChoiceField(choices=AllowlistMode.choices)
    entries = AllowlistEntrySerializer(many=True)
    warnings = OverlapWarningSerializer(many=True)


class AllowlistReplaceSerializer(StrictSerializer):
    """The whole new allowlist, and optionally its mode: all of it is applied, or none."""

    entries = AllowlistInputField()
    mode = serializers.ChoiceField(choices=AllowlistMode.choices, required=False)


class EntryCreateSerializer(StrictSerializer):
    """One entry to add."""

    cidr = CidrField()
    label = LabelField(required=False, default="")  # type: ignore[assignment]  # a declared field, not Field.label
    not_before = WindowField(required=False, default=None)
    expires_at = WindowField(required=False, default=None)


class EntryUpdateSerializer(StrictSerializer):
    """The entry's new cidr, label or window; null removes a bound of the window."""

    cidr = CidrField(required=False)
    label = LabelField(required=False)  # type: ignore[assignment]  # a declared field, not Field.label
    not_before = WindowField(required=False)
    expires_at = WindowField(required=False)


ACTOR_TYPES = [("user", "User"), ("api_key", "API key"), ("system", "System")]


class ActorSerializer(serializers.Serializer):
    """Who made a change: a user, a key, or the system."""

    type = serializers.ChoiceField(choices=ACTOR_TYPES)
    id = serializers.CharField(allow_null=True)
    name = serializers.CharField(
        required=False, help_text='For the system: what acted, such as "secret scanning" or "inactive keys".'
    )


class AuditEventSerializer(serializers.ModelSerializer):
    """One change in a workspace (a key, its allowlist, a member, the policies), with the values
    before and after. ``api_key`` is null for member and policy changes."""

    actor = serializers.SerializerMethodField()
    api_key: serializers.PrimaryKeyRelatedField[ApiKey] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, pk_field=serializers.CharField(), help_text="The key changed, if any."
    )

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "api_key", "actor", "client_ip", "created_at", "before", "after"]
        read_only_fields = fields

    @extend_schema_field(ActorSerializer)
    def get_actor(self, event: AuditEvent) -> dict[str, Any]:
        if event.actor_key_id is not None:
            return {"type": "api_key", "id": str(event.actor_key_id)}
        if event.actor_user_id is not None:
            return {"type": "user", "id": str(event.actor_user_id)}
        return {"type": "system", "id": None, "name": event.actor_system or "system"}


class WhoamiKeySerializer(serializers.Serializer):
    """The calling key."""

    id = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    allowlist_mode = serializers.ChoiceField(choices=AllowlistMode.choices)


class WhoamiSerializer(serializers.Serializer):
    """The calling key (null for a browser session) and the client IP as the server saw it."""

    key = WhoamiKeySerializer(allow_null=True)
    client_ip = serializers.CharField(allow_null=True)
