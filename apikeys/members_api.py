"""The workspace and its members (SPEC §13): thin DRF views over workspaces.members.

A key acts in its own workspace; a browser session in its current one, with its role there.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces import members
from workspaces.access import role_in
from workspaces.member_selectors import member_get_for, members_of
from workspaces.models import Membership, Workspace

from .api import ScopedAPIView, validated
from .drf import KeyfenceAPIMixin
from .member_serializers import MemberCreateSerializer, MemberSerializer, MemberUpdateSerializer, WorkspaceSerializer
from .request import actor_of, workspace_id_of
from .schema import api_operation, error_codes

READ, WRITE = "members:read", "members:write"
FIELD_CODES = ("REQUIRED", "BLANK", "MAX_LENGTH", "INVALID", "NULL", "UNKNOWN_FIELD")
ADD_CODES = (members.USER_NOT_FOUND, members.ALREADY_MEMBER, members.INVALID_ROLE)
OWNER_CODES = (members.LAST_OWNER, members.PERSONAL_OWNER)
ROLE_RULES = (
    "Admins manage members below owner; adding an owner, making someone owner, and changing or removing "
    "an owner take an owner (else 403 `INSUFFICIENT_ROLE`). A key holding `members:write` acts as an admin."
)


def refused_as_invalid(errors: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    """``errors`` with 400 ``VALIDATION_ERROR``, for a write without a body that a rule may refuse."""
    return dict(sorted({**errors, 400: errors.get(400, ("VALIDATION_ERROR",))}.items()))


class WorkspaceView(KeyfenceAPIMixin, APIView):
    """The caller's workspace."""

    @api_operation(
        operation_id="workspace_retrieve",
        summary="Show the caller's workspace",
        scope=None,
        description="The workspace the caller acts in: a key's own, or a browser session's current one, "
        "with the caller's role there.",
        responses={200: WorkspaceSerializer},
        errors=error_codes(scoped=False),
    )
    def get(self, request: Request) -> Response:
        workspace = Workspace.objects.get(pk=workspace_id_of(request))
        role = role_in(actor_of(request), workspace.pk)
        body = {"id": str(workspace.pk), "name": workspace.name, "slug": workspace.slug, "role": role}
        return Response(WorkspaceSerializer(body).data)


class MemberScopedView(ScopedAPIView):
    read_scope = READ
    write_scope = WRITE

    def get_member(self, request: Request, member_id: Any) -> Membership:
        return member_get_for(workspace_id=workspace_id_of(request), member_id=member_id)


class MemberListView(MemberScopedView):
    """The workspace's members; add one."""

    @api_operation(
        operation_id="members_list",
        summary="List the workspace's members",
        scope=READ,
        description="Every member of the caller's workspace, by username, with their role.",
        responses={200: MemberSerializer(many=True)},
        errors=error_codes(),
    )
    def get(self, request: Request) -> Response:
        return Response(MemberSerializer(members_of(workspace_id=workspace_id_of(request)), many=True).data)

    @api_operation(
        operation_id="members_create",
        summary="Add a member",
        scope=WRITE,
        description="Add an existing user, by username or e-mail (in any case), with a role: `USER_NOT_FOUND`, "
        f"`ALREADY_MEMBER` and `INVALID_ROLE` say why not. {ROLE_RULES}",
        request=MemberCreateSerializer,
        responses={201: MemberSerializer},
        errors=error_codes(unsafe=True, body=True),
        field_codes=(*FIELD_CODES, *ADD_CODES),
    )
    def post(self, request: Request) -> Response:
        data = validated(MemberCreateSerializer, request)
        membership = members.member_add(workspace_id=workspace_id_of(request), actor=actor_of(request), **data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(MemberScopedView):
    """One member: read, change their role, or remove them."""

    @api_operation(
        operation_id="members_retrieve",
        summary="Get a member",
        scope=READ,
        description="One member of the caller's workspace. A member of another workspace is `NOT_FOUND`.",
        responses={200: MemberSerializer},
        errors=error_codes(lookup=True),
    )
    def get(self, request: Request, member_id: str) -> Response:
        return Response(MemberSerializer(self.get_member(request, member_id)).data)

    @api_operation(
        operation_id="members_update",
        summary="Change a member's role",
        scope=WRITE,
        description="Give the member another role. The last owner stays owner (`LAST_OWNER`), and so does the "
        f"user whose personal workspace it is (`PERSONAL_OWNER`). {ROLE_RULES}",
        request=MemberUpdateSerializer,
        responses={200: MemberSerializer},
        errors=error_codes(unsafe=True, body=True, lookup=True),
        field_codes=(*FIELD_CODES, members.INVALID_ROLE, *OWNER_CODES),
    )
    def patch(self, request: Request, member_id: str) -> Response:
        membership = self.get_member(request, member_id)
        data = validated(MemberUpdateSerializer, request)
        members.member_change_role(membership=membership, actor=actor_of(request), role=data["role"])
        return Response(MemberSerializer(self.get_member(request, member_id)).data)

    @api_operation(
        operation_id="members_destroy",
        summary="Remove a member",
        scope=WRITE,
        description="Take the member out of the workspace. The keys they created keep working until revoked. "
        f"The last owner cannot be removed (`LAST_OWNER`), nor a user from their personal workspace "
        f"(`PERSONAL_OWNER`). {ROLE_RULES}",
        responses={204: None},
        errors=refused_as_invalid(error_codes(unsafe=True, lookup=True)),
        field_codes=OWNER_CODES,
    )
    def delete(self, request: Request, member_id: str) -> Response:
        members.member_remove(membership=self.get_member(request, member_id), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
