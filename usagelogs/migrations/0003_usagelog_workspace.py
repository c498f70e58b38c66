"""Usage logs gain their workspace, empty for now; 0004 fills it and 0005 drops the owner.

Three migrations rather than one: on PostgreSQL a table whose foreign keys were just written in a
transaction cannot be altered in that same transaction, and 0004 commits batch by batch.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0005_keys_belong_to_workspaces"),
        ("usagelogs", "0002_filter_indexes"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="usagelog",
            name="workspace",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
    ]
