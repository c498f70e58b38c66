"""Events, their deduplication marks, e-mail opt-outs, webhook endpoints, deliveries and attempts."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("apikeys", "0007_entry_windows_and_key_limits"),
        ("workspaces", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("key.created", "Key created"),
                            ("key.rolled", "Key rolled"),
                            ("key.revoked", "Key revoked"),
                            ("key.expiring", "Key expiring soon"),
                            ("allowlist.changed", "Allowlist changed"),
                            ("ip.blocked", "Address blocked"),
                            ("ip.new", "New address (report-only key)"),
                            ("key.leaked", "Key reported leaked"),
                            ("policy.changed", "Policies changed"),
                            ("member.added", "Member added"),
                            ("member.removed", "Member removed"),
                            ("member.role_changed", "Member role changed"),
                        ],
                        max_length=40,
                    ),
                ),
                ("data", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                (
                    "api_key",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="apikeys.apikey",
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workspaces.workspace"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="EventMark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=40)),
                ("address", models.CharField(blank=True, default="", max_length=45)),
                ("fired_at", models.DateTimeField()),
                (
                    "api_key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="apikeys.apikey"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="NotificationOptOut",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "event_type",
                    models.CharField(
                        choices=[
                            ("key.created", "Key created"),
                            ("key.rolled", "Key rolled"),
                            ("key.revoked", "Key revoked"),
                            ("key.expiring", "Key expiring soon"),
                            ("allowlist.changed", "Allowlist changed"),
                            ("ip.blocked", "Address blocked"),
                            ("ip.new", "New address (report-only key)"),
                            ("key.leaked", "Key reported leaked"),
                            ("policy.changed", "Policies changed"),
                            ("member.added", "Member added"),
                            ("member.removed", "Member removed"),
                            ("member.role_changed", "Member role changed"),
                        ],
                        max_length=40,
                    ),
                ),
                (
                    "membership",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workspaces.membership"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("failures", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="notifications.event"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="DeliveryAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("attempted_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("duration_ms", models.FloatField(default=0)),
                ("error", models.CharField(blank=True, default="", max_length=200)),
                (
                    "delivery",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempts",
                        to="notifications.webhookdelivery",
                    ),
                ),
            ],
            options={
                "ordering": ["-attempted_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("url", models.CharField(max_length=2048)),
                ("events", models.JSONField(default=list)),
                ("enabled", models.BooleanField(default=True)),
                ("secret", models.CharField(editable=False, max_length=100)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("failing_since", models.DateTimeField(blank=True, editable=False, null=True)),
                ("disabled_reason", models.CharField(blank=True, default="", editable=False, max_length=20)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workspaces.workspace"
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="endpoint",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="notifications.webhookendpoint",
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("dispatched_at__isnull", True)), fields=["created_at"], name="event_pending"
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["workspace", "-created_at"], name="event_workspace_created"),
        ),
        migrations.AddConstraint(
            model_name="eventmark",
            constraint=models.UniqueConstraint(fields=("kind", "api_key", "address"), name="event_mark_unique"),
        ),
        migrations.AddConstraint(
            model_name="notificationoptout",
            constraint=models.UniqueConstraint(fields=("membership", "event_type"), name="optout_unique"),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(fields=("endpoint", "event"), name="delivery_unique"),
        ),
    ]
