"""The hourly rollup of usage logs, filled from the rows already logged.

From here on the log writer adds each batch to it (usagelogs/rollup.py); this migration counts the
rows already there, in one GROUP BY per workspace, so that the chart shows the past too.
"""

import uuid
from collections import defaultdict
from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models

NO_KEY = uuid.UUID(int=0)


def _status_class(code):
    return "429" if code == 429 else f"{min(max(code // 100, 1), 5)}xx"


def backfill(apps, schema_editor):
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncHour

    UsageLog = apps.get_model("usagelogs", "UsageLog")
    UsageRollup = apps.get_model("usagelogs", "UsageRollup")
    alias = schema_editor.connection.alias
    workspaces = UsageLog.objects.using(alias).exclude(workspace=None).values_list("workspace", flat=True)
    for workspace_id in workspaces.order_by().distinct():
        groups = defaultdict(lambda: [0, 0.0])
        rows = (
            UsageLog.objects.using(alias)
            .filter(workspace_id=workspace_id)
            .annotate(hour=TruncHour("timestamp", tzinfo=UTC))
            .values_list("hour", "api_key_id", "decision", "status_code")
            .order_by()
            .annotate(requests=Count("id"), total=Sum("response_time_ms"))
        )
        for hour, key_id, decision, code, requests, total in rows.iterator(chunk_size=5000):
            group = groups[(hour, key_id or NO_KEY, decision, _status_class(code))]
            group[0] += requests
            group[1] += total or 0.0
        UsageRollup.objects.using(alias).bulk_create(
            (
                UsageRollup(
                    workspace_id=workspace_id,
                    hour=hour,
                    key_id=key_id,
                    decision=decision,
                    status_class=status_class,
                    requests=requests,
                    total_response_ms=total,
                )
                for (hour, key_id, decision, status_class), (requests, total) in groups.items()
            ),
            batch_size=2000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("usagelogs", "0007_logs_in_time_order"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageRollup",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("key_id", models.UUIDField(default=uuid.UUID("00000000-0000-0000-0000-000000000000"))),
                ("hour", models.DateTimeField()),
                (
                    "decision",
                    models.CharField(
                        choices=[
                            ("unrestricted", "Unrestricted"),
                            ("allowed", "Allowed"),
                            ("blocked", "Blocked"),
                            ("would_block", "Would block"),
                            ("none", "None"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "status_class",
                    models.CharField(
                        choices=[
                            ("1xx", "1xx"),
                            ("2xx", "2xx"),
                            ("3xx", "3xx"),
                            ("4xx", "4xx other than 429"),
                            ("429", "429"),
                            ("5xx", "5xx"),
                        ],
                        max_length=3,
                    ),
                ),
                ("requests", models.BigIntegerField(default=0)),
                ("total_response_ms", models.FloatField(default=0)),
                (
                    "workspace",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
            ],
            options={
                "verbose_name": "hourly usage rollup",
                "indexes": [models.Index(fields=["hour"], name="rollup_hour")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workspace", "hour", "key_id", "decision", "status_class"), name="rollup_group"
                    )
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
