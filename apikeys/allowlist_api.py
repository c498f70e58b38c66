"""Thin DRF views over the allowlist services (SPEC §6): the whole list, and one entry."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors, services
from .api import READ, WRITE, ScopedAPIView, validated
from .models import ApiKey
from .networks import find_overlaps
from .request import actor_of
from .schema import ENTRY_FIELD_CODES, LIST_FIELD_CODES, api_operation, error_codes
from .serializers import (
    AllowlistEntrySerializer,
    AllowlistReplaceSerializer,
    AllowlistSerializer,
    EntryCreateSerializer,
    EntryUpdateSerializer,
)


def allowlist_body(key: ApiKey) -> dict[str, Any]:
    entries = list(key.entries.order_by("created_at", "id"))
    return AllowlistSerializer(
        {
            "mode": key.allowlist_mode,
            "entries": entries,
            "warnings": find_overlaps(e.cidr for e in entries),
        }
    ).data


class AllowlistView(ScopedAPIView):
    """A key's allowlist: read it, replace it, or add one entry."""

    @api_operation(
        operation_id="allowlist_retrieve",
        summary="Get a key's allowlist",
        scope=READ,
        description="The allowlist mode and entries, each with when it last matched, and warnings for "
        "entries that lie inside others. An empty allowlist allows every IP.",
        responses={200: AllowlistSerializer},
        errors=error_codes(lookup=True),
    )
    def get(self, request: Request, key_id: str) -> Response:
        return Response(allowlist_body(self.get_key(request, key_id)))

    @api_operation(
        operation_id="allowlist_replace",
        summary="Replace a key's allowlist",
        scope=WRITE,
        description="Replace every entry, and optionally the mode, in one change: all of it is applied or "
        "none of it. Errors name the entry, as in `entries.2.cidr`.",
        request=AllowlistReplaceSerializer,
        responses={200: AllowlistSerializer},
        errors=error_codes(unsafe=True, body=True, lookup=True, change=True),
        field_codes=(*ENTRY_FIELD_CODES, *LIST_FIELD_CODES, "INVALID_CHOICE", "REQUIRED", "UNKNOWN_FIELD"),
    )
    def put(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(AllowlistReplaceSerializer, request)
        services.allowlist_replace(key=key, actor=actor_of(request), entries=data["entries"], mode=data.get("mode"))
        return Response(allowlist_body(self.get_key(request, key_id)))

    @api_operation(
        operation_id="allowlist_add",
        summary="Add an allowlist entry",
        scope=WRITE,
        description="Add one address or CIDR range, with an optional label, to a key's allowlist.",
        request=EntryCreateSerializer,
        responses={201: AllowlistEntrySerializer},
        errors=error_codes(unsafe=True, body=True, lookup=True, change=True),
        field_codes=(*ENTRY_FIELD_CODES, "REQUIRED", "UNKNOWN_FIELD"),
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data = validated(EntryCreateSerializer, request)
        entry = services.allowlist_add(key=key, actor=actor_of(request), **data)
        return Response(AllowlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class AllowlistEntryView(ScopedAPIView):
    """One allowlist entry: change or remove it."""

    @api_operation(
        operation_id="allowlist_entry_update",
        summary="Change an allowlist entry",
        scope=WRITE,
        description="Change an entry's cidr, label, or both.",
        request=EntryUpdateSerializer,
        responses={200: AllowlistEntrySerializer},
        errors=error_codes(unsafe=True, body=True, lookup=True, change=True),
        field_codes=(*ENTRY_FIELD_CODES, "UNKNOWN_FIELD"),
    )
    def patch(self, request: Request, key_id: str, entry_id: str) -> Response:
        key = self.get_key(request, key_id)
        entry = selectors.entry_get_for(key=key, entry_id=entry_id)
        data = validated(EntryUpdateSerializer, request)
        entry = services.allowlist_update(key=key, entry=entry, actor=actor_of(request), **data)
        return Response(AllowlistEntrySerializer(entry).data)

    @api_operation(
        operation_id="allowlist_entry_remove",
        summary="Remove an allowlist entry",
        scope=WRITE,
        description="Remove one entry. Removing the last one leaves the key unrestricted, unless the "
        "workspace's policies require an allowlist (`ALLOWLIST_REQUIRED`).",
        responses={204: None},
        errors={**error_codes(unsafe=True, lookup=True, change=True), 400: ("VALIDATION_ERROR",)},
        field_codes=("ALLOWLIST_REQUIRED",),
    )
    def delete(self, request: Request, key_id: str, entry_id: str) -> Response:
        key = self.get_key(request, key_id)
        entry = selectors.entry_get_for(key=key, entry_id=entry_id)
        services.allowlist_remove(key=key, entry=entry, actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
