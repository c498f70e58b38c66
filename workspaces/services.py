"""Writes to workspaces. Every user has a personal workspace, made on first need."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from .models import Membership, Role, Workspace

SLUG_MAX = 50
NAME_MAX = 100


def personal_name(username: str) -> str:
    """The personal workspace's name; a long username is cut so that the name fits."""
    suffix = "'s workspace"
    return username[: NAME_MAX - len(suffix)] + suffix


def unique_slug(base: str) -> str:
    """``base`` as a slug, with ``-2``, ``-3``… added until no workspace has it."""
    stem = slugify(base)[: SLUG_MAX - 4].strip("-") or "workspace"
    slug, number = stem, 1
    while Workspace.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{stem}-{number}"
    return slug


def personal_workspace_for(*, user_id: Any) -> Workspace:
    """The user's personal workspace, created with the user as its owner if it does not exist yet."""
    existing = Workspace.objects.filter(personal_for_id=user_id).first()
    if existing is not None:
        return existing
    user = get_user_model()._default_manager.get(pk=user_id)
    try:
        with transaction.atomic():
            workspace = Workspace.objects.create(
                name=personal_name(user.get_username()), slug=unique_slug(user.get_username()), personal_for=user
            )
            Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    except IntegrityError:
        # Another request made it first; theirs is the one. (A slug taken in between is an error.)
        made = Workspace.objects.filter(personal_for_id=user_id).first()
        if made is None:
            raise
        return made
    return workspace


INVALID_NAME = "INVALID_NAME"
INVALID_SLUG = "INVALID_SLUG"
SLUG_TAKEN = "SLUG_TAKEN"
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@transaction.atomic
def workspace_create(*, owner_id: Any, name: Any, slug: Any = None) -> Workspace:
    """A new team workspace with ``owner_id`` as its owner; the slug is made from the name if not given."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ValidationError({"name": ValidationError("Give a name of 1 to 100 characters.", code=INVALID_NAME)})
    name = name.strip()
    if slug is None:
        slug = unique_slug(name)
    elif not isinstance(slug, str) or len(slug) > SLUG_MAX or not _SLUG.fullmatch(slug):
        raise ValidationError(
            {"slug": ValidationError("Use 1 to 50 lower-case letters, digits and single hyphens.", code=INVALID_SLUG)}
        )
    elif Workspace.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ValidationError(f"The slug {slug} is taken.", code=SLUG_TAKEN)})
    workspace = Workspace.objects.create(name=name, slug=slug)
    Membership.objects.create(workspace=workspace, user_id=owner_id, role=Role.OWNER)
    return workspace
