"""Put every usage-log row in a workspace: its key's, or else its owner's personal one.

- A row whose key still exists goes to the key's workspace.
- A row whose key is gone (or that had none: a signed-in session) goes to its owner's personal
  workspace, which is created, with the owner as its owner, if the owner has none yet.
- A row with neither key nor owner keeps no workspace: staff alone see it, in the admin.

Rows are updated in ranges of ids, each committed on its own (the migration is not atomic), so
that a large table is never held in one long transaction. Only rows still without a workspace
are touched, so running it again after an interruption finishes the job.

Reversing it gives each row an owner again: the creator of its key (the owner the key itself
gets back when apikeys.0005 is reversed), or else the user whose personal workspace holds the
row. What cannot be restored: a row whose key is gone or whose key's creator was deleted, and
whose workspace is nobody's personal one (a team workspace, or the personal workspace of a
deleted user), keeps no owner, and is then visible to staff only. A row recorded in a team
workspace goes to its key's creator, whoever owned the row before.
"""

from django.conf import settings
from django.db import migrations, transaction
from django.db.models import Max, Min, OuterRef, Subquery
from django.utils.text import slugify

BATCH_SIZE = 5_000
SLUG_MAX = 50


def _unique_slug(workspaces, base):
    # A frozen copy of workspaces.services.unique_slug: migrations never import app code.
    stem = slugify(base)[: SLUG_MAX - 4].strip("-") or "workspace"
    slug, number = stem, 1
    while workspaces.filter(slug=slug).exists():
        number += 1
        slug = f"{stem}-{number}"
    return slug


def _batches(UsageLog, alias):  # noqa: N803 - a historical model
    """The table's rows as querysets of ranges of ``BATCH_SIZE`` ids."""
    bounds = UsageLog.objects.using(alias).aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, BATCH_SIZE):
        yield UsageLog.objects.using(alias).filter(id__gte=start, id__lt=start + BATCH_SIZE)


def _give_personal_workspaces(apps, alias):
    """A personal workspace for every owner of a row without a key, as apikeys.0003 made them."""
    UsageLog = apps.get_model("usagelogs", "UsageLog")
    Workspace = apps.get_model("workspaces", "Workspace")
    Membership = apps.get_model("workspaces", "Membership")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    owners = (
        UsageLog.objects.using(alias)
        .filter(api_key__isnull=True, owner__isnull=False, workspace__isnull=True)
        .values("owner_id")
        .distinct()
    )
    workspaces = Workspace.objects.using(alias)
    homeless = User.objects.using(alias).filter(pk__in=owners, personal_workspace__isnull=True)
    for owner in homeless.order_by("pk"):
        # Historical models carry fields only, not USERNAME_FIELD: "username" is the usual one.
        username = getattr(owner, "username", "") or f"user-{owner.pk}"
        with transaction.atomic(using=alias):
            workspace = workspaces.create(
                name=f"{username[:88]}'s workspace",  # 100 characters at most
                slug=_unique_slug(workspaces, username),
                personal_for_id=owner.pk,
            )
            Membership.objects.using(alias).create(workspace=workspace, user_id=owner.pk, role="owner")


def logs_into_workspaces(apps, schema_editor):
    alias = schema_editor.connection.alias
    UsageLog = apps.get_model("usagelogs", "UsageLog")
    ApiKey = apps.get_model("apikeys", "ApiKey")
    Workspace = apps.get_model("workspaces", "Workspace")
    _give_personal_workspaces(apps, alias)
    keys_workspace = ApiKey.objects.filter(pk=OuterRef("api_key_id")).values("workspace_id")[:1]
    personal = Workspace.objects.filter(personal_for_id=OuterRef("owner_id")).values("pk")[:1]
    for batch in _batches(UsageLog, alias):
        pending = batch.filter(workspace__isnull=True)
        pending.filter(api_key__isnull=False).update(workspace_id=Subquery(keys_workspace))
        pending.filter(api_key__isnull=True, owner__isnull=False).update(workspace_id=Subquery(personal))


def owners_from_workspaces(apps, schema_editor):
    alias = schema_editor.connection.alias
    UsageLog = apps.get_model("usagelogs", "UsageLog")
    ApiKey = apps.get_model("apikeys", "ApiKey")
    Workspace = apps.get_model("workspaces", "Workspace")
    keys_creator = ApiKey.objects.filter(pk=OuterRef("api_key_id")).values("created_by_id")[:1]
    personal_for = Workspace.objects.filter(pk=OuterRef("workspace_id")).values("personal_for_id")[:1]
    for batch in _batches(UsageLog, alias):
        batch.filter(owner__isnull=True, api_key__isnull=False).update(owner_id=Subquery(keys_creator))
        batch.filter(owner__isnull=True, workspace__isnull=False).update(owner_id=Subquery(personal_for))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usagelogs", "0003_usagelog_workspace"),
        ("workspaces", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(logs_into_workspaces, owners_from_workspaces)]
