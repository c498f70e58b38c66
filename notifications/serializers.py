"""What the webhooks API reads and writes (SPEC §16)."""

from __future__ import annotations

from rest_framework import serializers

from apikeys.serializers import StrictSerializer, TextField

from .models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from .urlguard import MAX_URL_LENGTH


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    events = serializers.ListField(child=serializers.CharField(), help_text='Event types, or ["*"] for all.')
    disabled_reason = serializers.CharField(
        read_only=True, help_text="`failing` when the server turned the endpoint off after 3 days of failures."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "enabled", "created_at", "failing_since", "disabled_reason"]
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret, `whsec_…`: shown in this response only."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(StrictSerializer):
    url = TextField(max_length=MAX_URL_LENGTH, help_text="An https URL that resolves to a public address.")
    events = serializers.ListField(child=TextField(max_length=40), required=False, default=["*"])
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookUpdateSerializer(StrictSerializer):
    url = TextField(max_length=MAX_URL_LENGTH, required=False)
    events = serializers.ListField(child=TextField(max_length=40), required=False)
    enabled = serializers.BooleanField(required=False)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "duration_ms", "error"]
        read_only_fields = fields


class DeliveryEventSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    type = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookDeliverySerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    event = DeliveryEventSerializer(read_only=True)
    attempts = DeliveryAttemptSerializer(many=True, read_only=True, help_text="Newest first.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "status", "failures", "next_attempt_at", "created_at", "attempts"]
        read_only_fields = fields
