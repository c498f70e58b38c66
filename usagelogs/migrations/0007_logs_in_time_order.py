"""Usage logs are listed newest first by their time: every filter index ends with (timestamp, id)
instead of id, so that a date range of any age is one index range (see UsageLog.Meta)."""

from django.db import migrations, models

OLD = [
    "log_ws_id",
    "log_ws_key_id",
    "log_ws_key_status_id",
    "log_ws_status_id",
    "log_ws_decision_id",
    "log_ws_method_id",
    "log_ws_ts",
]
NEW = [
    models.Index(fields=["workspace", "-timestamp", "-id"], name="log_ws_ts_id"),
    models.Index(fields=["workspace", "api_key", "-timestamp", "-id"], name="log_ws_key_ts_id"),
    models.Index(fields=["workspace", "api_key", "status_code", "-timestamp", "-id"], name="log_ws_key_status_ts_id"),
    models.Index(fields=["workspace", "status_code", "-timestamp", "-id"], name="log_ws_status_ts_id"),
    models.Index(fields=["workspace", "decision", "-timestamp", "-id"], name="log_ws_decision_ts_id"),
    models.Index(fields=["workspace", "method", "-timestamp", "-id"], name="log_ws_method_ts_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("usagelogs", "0006_partition_by_day"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="usagelog",
            options={"ordering": ["-timestamp", "-id"], "verbose_name": "API usage log"},
        ),
        *(migrations.RemoveIndex(model_name="usagelog", name=name) for name in OLD),
        *(migrations.AddIndex(model_name="usagelog", index=index) for index in NEW),
    ]
