"""Request and response shapes of the workspace and members API. The rules live in workspaces.members."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workspaces.members import USER_MAX
from workspaces.models import Role

from .fields import ValidatedField
from .serializers import StrictSerializer, TextField


# Described as the responses' role, so that the schema has one Role enum.
@extend_schema_field(serializers.ChoiceField(choices=Role.choices))
class RoleField(ValidatedField):
    """A role, checked by the members services: any other value is ``INVALID_ROLE``, ``null`` too."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> str:
        return str(value)


class WorkspaceSerializer(serializers.Serializer):
    """The caller's workspace and their role in it."""

    id = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    role = serializers.ChoiceField(
        choices=Role.choices,
        help_text="A browser session's role here; for a key, the role it acts with: admin if it holds "
        "members:write or workspace:admin, else developer.",
    )


class MemberUserSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField(help_text="Empty when the user has none.")


class MemberSerializer(serializers.Serializer):
    """A member of the workspace: the user, their role, and since when."""

    id = serializers.CharField(help_text="The membership's id, for PATCH and DELETE /members/{id}.")
    user = MemberUserSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField(help_text="When the user became a member.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        user = instance.user
        return {
            "id": str(instance.pk),
            "user": {"username": user.get_username(), "email": getattr(user, user.get_email_field_name(), "") or ""},
            "role": instance.role,
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
        }


class MemberCreateSerializer(StrictSerializer):
    """An existing user to add, by username or e-mail, and their role."""

    user = TextField(max_length=USER_MAX, help_text="A username, or an e-mail address in any case.")
    role = RoleField()


class MemberUpdateSerializer(StrictSerializer):
    """The member's new role."""

    role = RoleField()
