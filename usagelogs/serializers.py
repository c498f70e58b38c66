"""Response shape of usage-log rows."""

from rest_framework import serializers

from .models import UsageLog


class UsageLogSerializer(serializers.ModelSerializer):
    """One recorded API request. Never holds a secret, a query string or a body."""

    api_key = serializers.CharField(source="api_key_id", allow_null=True, read_only=True)
    # Any method a client sends is recorded as sent, so this is no enum: a typed client would
    # refuse the whole page for one unusual row.
    method = serializers.CharField(
        read_only=True,
        help_text=(
            "The HTTP method as received, such as GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS; "
            "any other method is recorded as sent (at most 10 characters)."
        ),
    )
    key_name = serializers.CharField(source="api_key.name", allow_null=True, read_only=True, default=None)
    matched_entry = serializers.CharField(source="matched_entry_id", allow_null=True, read_only=True)

    class Meta:
        model = UsageLog
        fields = [
            "id",
            "timestamp",
            "api_key",
            "key_name",
            "key_prefix",
            "method",
            "path",
            "status_code",
            "client_ip",
            "user_agent",
            "error_code",
            "decision",
            "matched_entry",
            "matched_cidr",
            "response_time_ms",
        ]
        read_only_fields = fields
