"""Usage logs belong to their workspace alone: the owner's column and indexes go, and every
filter index starts with the workspace instead (see UsageLog.Meta).

Reversing it brings the owner's column back empty, and 0004's reversal fills it.
"""

from django.db import migrations, models

OWNER_INDEXES = [
    "log_owner_id",
    "log_owner_key_id",
    "log_owner_key_status_id",
    "log_owner_status_id",
    "log_owner_decision_id",
    "log_owner_method_id",
    "log_owner_ts",
    "log_owner_ip",
]
WORKSPACE_INDEXES = [
    models.Index(fields=["workspace", "-id"], name="log_ws_id"),
    models.Index(fields=["workspace", "api_key", "-id"], name="log_ws_key_id"),
    models.Index(fields=["workspace", "api_key", "status_code", "-id"], name="log_ws_key_status_id"),
    models.Index(fields=["workspace", "status_code", "-id"], name="log_ws_status_id"),
    models.Index(fields=["workspace", "decision", "-id"], name="log_ws_decision_id"),
    models.Index(fields=["workspace", "method", "-id"], name="log_ws_method_id"),
    models.Index(fields=["workspace", "timestamp"], name="log_ws_ts"),
    models.Index(fields=["workspace", "client_ip_key"], name="log_ws_ip"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("usagelogs", "0004_logs_into_workspaces"),
    ]

    operations = [
        *(migrations.RemoveIndex(model_name="usagelog", name=name) for name in OWNER_INDEXES),
        migrations.RemoveField(model_name="usagelog", name="owner"),
        *(migrations.AddIndex(model_name="usagelog", index=index) for index in WORKSPACE_INDEXES),
    ]
