"""Thin DRF views over services and selectors (SPEC §6)."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .client_ip import get_client_ip
from .keycache import KeyRecord
from .models import ApiKey
from .networks import find_overlaps
from .permissions import HasScopes
from .serializers import (
    AllowlistEntrySerializer, AllowlistReplaceSerializer, AllowlistSerializer, ApiKeySerializer,
    ApiKeyWithSecretSerializer, AuditEventSerializer, EntryCreateSerializer, EntryUpdateSerializer,
    KeyCreateSerializer, KeyRollSerializer, KeyUpdateSerializer, WhoamiSerializer,
)

READ, WRITE = "keys:read", "keys:write"


def owner_id_of(request: Request) -> int:
    """The owner whose objects this request may see: the key's owner, or the signed-in user."""
    if isinstance(request.auth, KeyRecord):
        return request.auth.owner_id
    return request.user.pk


def actor_of(request: Request) -> services.Actor:
    address = get_client_ip(request)
    ip = address.text if address is not None else None
    if isinstance(request.auth, KeyRecord):
        return services.Actor(key_id=request.auth.id, key_scopes=request.auth.scopes, ip=ip)
    return services.Actor(user_id=request.user.pk, ip=ip)


def validated(serializer_class: type, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ScopedAPIView(APIView):
    """An APIView whose required scope depends on the method: reads vs writes."""

    read_scope = READ
    write_scope = WRITE

    def get_permissions(self) -> list[Any]:
        safe = self.request.method in ("GET", "HEAD", "OPTIONS")
        return [HasScopes(self.read_scope if safe else self.write_scope)]

    def get_key(self, request: Request, key_id: Any) -> ApiKey:
        return selectors.key_get_for(owner_id=owner_id_of(request), key_id=key_id)


class WhoamiView(APIView):
    """The calling key and the client IP as the server sees it."""

    @extend_schema(responses=WhoamiSerializer, operation_id="whoami")
    def get(self, request: Request) -> Response:
        address = get_client_ip(request)
        record = request.auth if isinstance(request.auth, KeyRecord) else None
        key = None
        if record is not None:
            key = {"id": str(record.id), "name": record.name, "prefix": record.prefix,
                   "scopes": sorted(record.scopes), "allowlist_mode": record.allowlist_mode}
        return Response({"key": key, "client_ip": address.text if address else None})


class KeyListView(ScopedAPIView):
    @extend_schema(responses=ApiKeySerializer(many=True), operation_id="keys_list")
    def get(self, request: Request) -> Response:
        keys = selectors.key_list_for(owner_id=owner_id_of(request))
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(request=KeyCreateSerializer, responses={201: ApiKeyWithSecretSerializer}, operation_id="keys_create")
    def post(self, request: Request) -> Response:
        data = validated(KeyCreateSerializer, request)
        key, full = services.key_create(owner_id=owner_id_of(request), actor=actor_of(request), **data)
        key = selectors.key_get_for(owner_id=key.owner_id, key_id=key.pk)
        key.key = full
        key.warnings = find_overlaps(entry.cidr for entry in key.entries.all())
        return Response(ApiKeyWithSecretSerializer(key).data, status=status.HTTP_201_CREATED)


class KeyDetailView(ScopedAPIView):
    @extend_schema(responses=ApiKeySerializer, operation_id="keys_retrieve")
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeySerializer(self.get_key(request, key_id)).data)

    @extend_schema(request=KeyUpdateSerializer, responses=ApiKeySerializer, operation_id="keys_update")
    def patch(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(KeyUpdateSerializer, request)
        services.key_update(key=key, actor=actor_of(request), **data)
        return Response(ApiKeySerializer(self.get_key(request, key_id)).data)

    @extend_schema(responses={204: None}, operation_id="keys_revoke")
    def delete(self, request: Request, key_id: str) -> Response:
        services.key_revoke(key=self.get_key(request, key_id), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KeyRollView(ScopedAPIView):
    @extend_schema(request=KeyRollSerializer, responses={201: ApiKeyWithSecretSerializer}, operation_id="keys_roll")
    def post(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(KeyRollSerializer, request)
        _, full = services.key_roll(key=key, actor=actor_of(request), grace_seconds=data["grace_seconds"])
        key = self.get_key(request, key_id)
        key.key, key.warnings = full, []
        return Response(ApiKeyWithSecretSerializer(key).data, status=status.HTTP_201_CREATED)


def allowlist_body(key: ApiKey) -> dict[str, Any]:
    entries = list(key.entries.order_by("created_at", "id"))
    return AllowlistSerializer({
        "mode": key.allowlist_mode, "entries": entries, "warnings": find_overlaps(e.cidr for e in entries),
    }).data


class AllowlistView(ScopedAPIView):
    @extend_schema(responses=AllowlistSerializer, operation_id="allowlist_retrieve")
    def get(self, request: Request, key_id: str) -> Response:
        return Response(allowlist_body(self.get_key(request, key_id)))

    @extend_schema(request=AllowlistReplaceSerializer, responses=AllowlistSerializer, operation_id="allowlist_replace")
    def put(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(AllowlistReplaceSerializer, request)
        services.allowlist_replace(key=key, actor=actor_of(request), entries=data["entries"], mode=data.get("mode"))
        return Response(allowlist_body(self.get_key(request, key_id)))

    @extend_schema(request=EntryCreateSerializer, responses={201: AllowlistEntrySerializer}, operation_id="allowlist_add")
    def post(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(EntryCreateSerializer, request)
        entry = services.allowlist_add(key=key, actor=actor_of(request), **data)
        return Response(AllowlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class AllowlistEntryView(ScopedAPIView):
    @extend_schema(request=EntryUpdateSerializer, responses=AllowlistEntrySerializer, operation_id="allowlist_entry_update")
    def patch(self, request: Request, key_id: str, entry_id: str) -> Response:
        key = self.get_key(request, key_id)
        entry = selectors.entry_get_for(key=key, entry_id=entry_id)
        data = validated(EntryUpdateSerializer, request)
        entry = services.allowlist_update(key=key, entry=entry, actor=actor_of(request), **data)
        return Response(AllowlistEntrySerializer(entry).data)

    @extend_schema(responses={204: OpenApiResponse(description="Removed")}, operation_id="allowlist_entry_remove")
    def delete(self, request: Request, key_id: str, entry_id: str) -> Response:
        key = self.get_key(request, key_id)
        entry = selectors.entry_get_for(key=key, entry_id=entry_id)
        services.allowlist_remove(key=key, entry=entry, actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


class KeyEventsView(ScopedAPIView):
    pagination_class = EventPagination

    @extend_schema(responses=AuditEventSerializer(many=True), operation_id="keys_events")
    def get(self, request: Request, key_id: str) -> Response:
        events = selectors.events_for(key=self.get_key(request, key_id))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)
