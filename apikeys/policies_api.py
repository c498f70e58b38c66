"""The workspace's policies (SPEC §14): read them with ``keys:read``, change them as an admin."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.roles import INSUFFICIENT_ROLE

from . import services
from .api import ScopedAPIView, validated
from .networks import INVALID_ENTRIES, INVALID_ENTRY
from .policy_rules import (
    INVALID,
    INVALID_INACTIVE_DAYS,
    INVALID_LEAK_RESPONSE,
    INVALID_LIFETIME,
    INVALID_RATE_LIMIT,
    UNKNOWN_FIELD,
)
from .policy_serializers import PolicySerializer, PolicyUpdateSerializer
from .request import actor_of, workspace_id_of
from .schema import ENTRY_FIELD_CODES, api_operation, error_codes

READ, ADMIN = "keys:read", "workspace:admin"
FIELD_CODES = (
    INVALID,
    UNKNOWN_FIELD,
    INVALID_LIFETIME,
    INVALID_INACTIVE_DAYS,
    INVALID_LEAK_RESPONSE,
    INVALID_RATE_LIMIT,
    *ENTRY_FIELD_CODES,
    INVALID_ENTRY,
    INVALID_ENTRIES,
)


def _update_errors() -> dict[int, tuple[str, ...]]:
    errors = error_codes(unsafe=True, body=True)
    return {**errors, 403: (*errors[403], INSUFFICIENT_ROLE)}


class PolicyView(ScopedAPIView):
    """The caller's workspace policies."""

    read_scope = READ
    write_scope = ADMIN

    @api_operation(
        operation_id="policies_retrieve",
        summary="Get the workspace's policies",
        scope=READ,
        description="The policies of the caller's workspace: the defaults until an admin changes them.",
        responses={200: PolicySerializer},
        errors=error_codes(),
    )
    def get(self, request: Request) -> Response:
        return Response(PolicySerializer(services.policy_for(workspace_id_of(request))).data)

    @api_operation(
        operation_id="policies_update",
        summary="Change the workspace's policies",
        scope=ADMIN,
        description="Change the policies given; those left out keep their values. Every value is checked "
        "first, and one bad value changes nothing: errors name the field, as in `default_allowlist.2.cidr`. "
        "A browser session needs the admin role in its current workspace (else `INSUFFICIENT_ROLE`). "
        "A change is recorded in the audit trail as `policy.changed`.",
        request=PolicyUpdateSerializer,
        responses={200: PolicySerializer},
        errors=_update_errors(),
        field_codes=FIELD_CODES,
    )
    def patch(self, request: Request) -> Response:
        data = validated(PolicyUpdateSerializer, request)
        policy = services.policy_update(workspace_id=workspace_id_of(request), actor=actor_of(request), **data)
        return Response(PolicySerializer(policy).data)
