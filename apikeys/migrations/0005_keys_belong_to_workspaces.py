"""Keys belong to their workspace alone: the ``owner`` column goes, ``created_by`` stays.

Every key's creator is its owner when the creator was not recorded. Audit events may name no
key (member and policy changes). Reversing it restores ``owner`` from ``created_by``; a key whose
creator was deleted since cannot get an owner back, and the reversal stops with that reason.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def creators_from_owners(apps, schema_editor):
    ApiKey = apps.get_model("apikeys", "ApiKey")
    ApiKey.objects.filter(created_by__isnull=True).update(created_by_id=F("owner_id"))


def owners_from_creators(apps, schema_editor):
    ApiKey = apps.get_model("apikeys", "ApiKey")
    orphans = ApiKey.objects.filter(created_by__isnull=True).count()
    if orphans:
        raise RuntimeError(
            f"{orphans} key(s) have no creator (their creator was deleted), so they cannot be given an "
            "owner again. Revoke and delete them first to go back."
        )
    ApiKey.objects.update(owner_id=F("created_by_id"))


def constraints_now(apps, schema_editor):
    # PostgreSQL refuses to alter a table with foreign-key checks still pending from the update
    # in this transaction; checking them now lets the schema change follow in the same migration.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0004_workspace_required"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey",
            name="owner",
            field=models.ForeignKey(
                null=True, on_delete=models.deletion.CASCADE, related_name="api_keys", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.RunPython(constraints_now, constraints_now),
        migrations.RunPython(creators_from_owners, owners_from_creators),
        migrations.RunPython(constraints_now, constraints_now),
        migrations.RemoveIndex(model_name="apikey", name="apikey_owner_created"),
        migrations.RemoveField(model_name="apikey", name="owner"),
        migrations.AlterField(
            model_name="apikey",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="api_keys",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="apikey",
            index=models.Index(fields=["workspace", "-created_at"], name="apikey_workspace_created"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="api_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="events",
                to="apikeys.apikey",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("key.created", "Key created"),
                    ("key.updated", "Key updated"),
                    ("key.revoked", "Key revoked"),
                    ("key.rolled", "Key rolled"),
                    ("allowlist.mode_changed", "Allowlist mode changed"),
                    ("allowlist.entry_added", "Entry added"),
                    ("allowlist.entry_updated", "Entry updated"),
                    ("allowlist.entry_removed", "Entry removed"),
                    ("allowlist.replaced", "Allowlist replaced"),
                    ("member.added", "Member added"),
                    ("member.role_changed", "Member role changed"),
                    ("member.removed", "Member removed"),
                    ("policy.changed", "Policies changed"),
                ],
                max_length=40,
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["workspace", "-created_at"], name="audit_workspace_created"),
        ),
    ]
