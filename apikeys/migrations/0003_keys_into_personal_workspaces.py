"""Move every existing key, and its audit events, into its owner's personal workspace.

Each owner gets a personal workspace (with them as its owner) if they have none. Reversing it
forgets where keys were put; the workspaces themselves go when 0002 and workspaces.0001 are
reversed. Usage logs move with the ownership switch that re-keys their indexes.
"""

from django.conf import settings
from django.db import migrations
from django.utils.text import slugify

SLUG_MAX = 50


def _unique_slug(Workspace, base):  # noqa: N803 - a historical model
    # A frozen copy of workspaces.services.unique_slug: migrations never import app code.
    stem = slugify(base)[: SLUG_MAX - 4].strip("-") or "workspace"
    slug, number = stem, 1
    while Workspace.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{stem}-{number}"
    return slug


def forwards(apps, schema_editor):
    ApiKey = apps.get_model("apikeys", "ApiKey")
    AuditEvent = apps.get_model("apikeys", "AuditEvent")
    Workspace = apps.get_model("workspaces", "Workspace")
    Membership = apps.get_model("workspaces", "Membership")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    owners = ApiKey.objects.filter(workspace__isnull=True).values_list("owner_id", flat=True).distinct()
    for owner in User.objects.filter(pk__in=list(owners)).order_by("pk"):
        workspace = Workspace.objects.filter(personal_for_id=owner.pk).first()
        if workspace is None:
            # Historical models carry fields only, not USERNAME_FIELD: "username" is the usual one.
            username = getattr(owner, "username", "") or f"user-{owner.pk}"
            workspace = Workspace.objects.create(
                name=f"{username[:88]}'s workspace",  # 100 characters at most
                slug=_unique_slug(Workspace, username),
                personal_for_id=owner.pk,
            )
            Membership.objects.create(workspace=workspace, user_id=owner.pk, role="owner")
        keys = ApiKey.objects.filter(owner_id=owner.pk, workspace__isnull=True)
        AuditEvent.objects.filter(api_key__in=keys).update(workspace=workspace)
        keys.update(workspace=workspace)


def backwards(apps, schema_editor):
    ApiKey = apps.get_model("apikeys", "ApiKey")
    AuditEvent = apps.get_model("apikeys", "AuditEvent")
    AuditEvent.objects.update(workspace=None)
    ApiKey.objects.update(workspace=None)


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_workspace"),
        ("workspaces", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
