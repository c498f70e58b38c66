"""Thin DRF views over services and selectors (SPEC §6): the key itself; allowlists are in allowlist_api."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from . import selectors, services
from .drf import KeyfenceAPIMixin
from .models import ApiKey
from .networks import find_overlaps
from .permissions import HasScopes
from .records import KeyRecord
from .request import actor_of, client_ip_text, workspace_id_of
from .schema import (
    CREATE_EXAMPLE,
    ENTRY_FIELD_CODES,
    KEY_FIELD_CODES,
    LIST_FIELD_CODES,
    api_operation,
    error_codes,
)
from .serializers import (
    ApiKeySerializer,
    ApiKeyWithSecretSerializer,
    AuditEventSerializer,
    KeyCreateSerializer,
    KeyRollSerializer,
    KeyUpdateSerializer,
    WhoamiSerializer,
)

READ, WRITE = "keys:read", "keys:write"


def validated(serializer_class: type[Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    data: dict[str, Any] = serializer.validated_data
    return data


class ScopedAPIView(KeyfenceAPIMixin, APIView):
    """An APIView whose required scope depends on the method: reads vs writes."""

    read_scope = READ
    write_scope = WRITE

    def get_permissions(self) -> list[Any]:
        safe = self.request.method in ("GET", "HEAD", "OPTIONS")
        return [HasScopes(self.read_scope if safe else self.write_scope)()]

    def get_key(self, request: Request, key_id: Any) -> ApiKey:
        return selectors.key_get_for(workspace_id=workspace_id_of(request), key_id=key_id)


class WhoamiView(KeyfenceAPIMixin, APIView):
    """The calling key and the client IP as the server sees it."""

    @api_operation(
        operation_id="whoami",
        summary="Show the calling key and client IP",
        scope=None,
        description="The key that signed this request and the client IP as the server saw it: the address "
        "to put in an allowlist. `key` is null for a browser session.",
        responses={200: WhoamiSerializer},
        errors=error_codes(scoped=False),
    )
    def get(self, request: Request) -> Response:
        record = request.auth if isinstance(request.auth, KeyRecord) else None
        key = None
        if record is not None:
            key = {
                "id": str(record.id),
                "name": record.name,
                "prefix": record.prefix,
                "scopes": sorted(record.scopes),
                "allowlist_mode": record.allowlist_mode,
            }
        return Response({"key": key, "client_ip": client_ip_text(request)})


class KeyListView(ScopedAPIView):
    """The caller's keys; create a key."""

    @api_operation(
        operation_id="keys_list",
        summary="List your API keys",
        scope=READ,
        description="Every key of the caller, newest first, revoked and expired ones included. "
        "Secrets are never shown.",
        responses={200: ApiKeySerializer(many=True)},
        errors=error_codes(),
    )
    def get(self, request: Request) -> Response:
        keys = selectors.key_list_for(workspace_id=workspace_id_of(request))
        return Response(ApiKeySerializer(keys, many=True).data)

    @api_operation(
        operation_id="keys_create",
        summary="Create an API key",
        scope=WRITE,
        description="Create a key with optional scopes, allowlist (up to 20 addresses or CIDR ranges), "
        "allowlist mode, expiry, `rate_limit` (left out: the workspace's `default_rate_limit`) and "
        "`monthly_quota`. The response holds the full key in `key`: it is shown "
        "only this once. A key may grant only scopes it holds itself (`SCOPE_NOT_HELD`).",
        request=KeyCreateSerializer,
        responses={201: ApiKeyWithSecretSerializer},
        examples=[CREATE_EXAMPLE],
        errors=error_codes(unsafe=True, body=True),
        field_codes=(*KEY_FIELD_CODES, *ENTRY_FIELD_CODES, *LIST_FIELD_CODES),
    )
    def post(self, request: Request) -> Response:
        data = validated(KeyCreateSerializer, request)
        key, full = services.key_create(workspace_id=workspace_id_of(request), actor=actor_of(request), **data)
        key = selectors.key_get_for(workspace_id=key.workspace_id, key_id=key.pk)
        key.key = full
        key.warnings = find_overlaps(entry.cidr for entry in key.entries.all())
        return Response(ApiKeyWithSecretSerializer(key).data, status=status.HTTP_201_CREATED)


class KeyDetailView(ScopedAPIView):
    """One key: read, change or revoke it."""

    @api_operation(
        operation_id="keys_retrieve",
        summary="Get an API key",
        scope=READ,
        description="One key of the caller's workspace, with its allowlist. A key of another workspace is `NOT_FOUND`.",
        responses={200: ApiKeySerializer},
        errors=error_codes(lookup=True),
    )
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeySerializer(self.get_key(request, key_id)).data)

    @api_operation(
        operation_id="keys_update",
        summary="Change an API key",
        scope=WRITE,
        description="Change the name, description, scopes, expiry, allowlist mode, `rate_limit` or "
        "`monthly_quota` (null removes a limit); fields left out keep their values. The change reaches every "
        "server before the response.",
        request=KeyUpdateSerializer,
        responses={200: ApiKeySerializer},
        errors=error_codes(unsafe=True, body=True, lookup=True, change=True),
        field_codes=KEY_FIELD_CODES,
    )
    def patch(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(KeyUpdateSerializer, request)
        services.key_update(key=key, actor=actor_of(request), **data)
        return Response(ApiKeySerializer(self.get_key(request, key_id)).data)

    @api_operation(
        operation_id="keys_revoke",
        summary="Revoke an API key",
        scope=WRITE,
        description="The key stops working at once, on every server, and stays listed as revoked.",
        responses={204: None},
        errors=error_codes(unsafe=True, lookup=True, change=True),
    )
    def delete(self, request: Request, key_id: str) -> Response:
        services.key_revoke(key=self.get_key(request, key_id), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KeyRollView(ScopedAPIView):
    """Issue a new secret for a key."""

    @api_operation(
        operation_id="keys_roll",
        summary="Roll an API key",
        scope=WRITE,
        description="Issue a new secret with the same id, prefix and settings; the response holds it in "
        "`key`, shown only this once. The old secret keeps working for `grace_seconds` "
        "(0, the default, to 7 days). Only an active key can be rolled (`KEY_NOT_ACTIVE`).",
        request=KeyRollSerializer,
        responses={201: ApiKeyWithSecretSerializer},
        errors=error_codes(unsafe=True, body=True, lookup=True, change=True),
        field_codes=("INVALID", "INVALID_GRACE", "KEY_NOT_ACTIVE", "UNKNOWN_FIELD"),
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(KeyRollSerializer, request)
        _, full = services.key_roll(key=key, actor=actor_of(request), grace_seconds=data["grace_seconds"])
        key = self.get_key(request, key_id)
        key.key, key.warnings = full, []
        return Response(ApiKeyWithSecretSerializer(key).data, status=status.HTTP_201_CREATED)


class EventPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


class KeyEventsView(ScopedAPIView):
    """A key's audit trail."""

    pagination_class = EventPagination

    @api_operation(
        operation_id="keys_events",
        summary="List a key's audit trail",
        scope=READ,
        description="Every change to the key and its allowlist, newest first, with the actor, client IP "
        "and the values before and after. Cursor-paginated: follow `next`.",
        responses={200: AuditEventSerializer(many=True)},
        errors=error_codes(lookup=True, cursor=True),
    )
    def get(self, request: Request, key_id: str) -> Response:
        events = selectors.events_for(key=self.get_key(request, key_id))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


class WorkspaceEventsView(KeyfenceAPIMixin, APIView):
    """The workspace's audit trail."""

    pagination_class = EventPagination
    permission_classes = [HasScopes(READ)]

    @api_operation(
        operation_id="workspace_events",
        summary="List the workspace's audit trail",
        scope=READ,
        description="Every change in the caller's workspace, newest first: keys, allowlists, members and "
        "policies, with the actor, client IP and the values before and after. `api_key` is null for "
        "member and policy changes. Cursor-paginated: follow `next`.",
        responses={200: AuditEventSerializer(many=True)},
        errors=error_codes(cursor=True),
    )
    def get(self, request: Request) -> Response:
        events = selectors.workspace_events(workspace_id=workspace_id_of(request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)
