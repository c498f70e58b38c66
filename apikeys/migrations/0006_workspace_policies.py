"""Workspace policies (SPEC §14): one optional row per workspace; without it, the defaults."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0005_keys_belong_to_workspaces"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkspacePolicy",
            fields=[
                (
                    "workspace",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="policy",
                        serialize=False,
                        to="workspaces.workspace",
                    ),
                ),
                ("require_allowlist", models.BooleanField(default=False)),
                ("default_allowlist", models.JSONField(blank=True, default=list)),
                ("max_key_lifetime_days", models.PositiveIntegerField(blank=True, null=True)),
                ("inactive_key_days", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "leak_response",
                    models.CharField(
                        choices=[
                            ("notify", "Notify the workspace"),
                            ("restrict", "Restrict the key"),
                            ("revoke", "Revoke the key"),
                        ],
                        default="restrict",
                        max_length=10,
                    ),
                ),
                ("default_rate_limit", models.JSONField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "workspace policy",
                "verbose_name_plural": "workspace policies",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("max_key_lifetime_days__isnull", True),
                            models.Q(("max_key_lifetime_days__gte", 1), ("max_key_lifetime_days__lte", 3650)),
                            _connector="OR",
                        ),
                        name="policy_lifetime_range",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("inactive_key_days__isnull", True),
                            models.Q(("inactive_key_days__gte", 7), ("inactive_key_days__lte", 3650)),
                            _connector="OR",
                        ),
                        name="policy_inactive_range",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("leak_response__in", ["notify", "restrict", "revoke"])),
                        name="policy_leak_response_valid",
                    ),
                ],
            },
        ),
    ]
