"""The rollout assistant's API (SPEC §15): suggested entries, and a dry run of a proposed list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from . import rollout
from .api import READ, ScopedAPIView, validated
from .rollout_serializers import (
    SimulateSerializer,
    SimulationSerializer,
    SuggestionsQuerySerializer,
    SuggestionsSerializer,
)
from .schema import ENTRY_FIELD_CODES, LIST_FIELD_CODES, api_operation, error_codes

DAYS_CODES = ("INVALID", "MIN_VALUE", "MAX_VALUE")


class AllowlistSuggestionsView(ScopedAPIView):
    """Entries proposed from the addresses the key was used from."""

    @api_operation(
        operation_id="allowlist_suggestions",
        summary="Suggest allowlist entries from recent traffic",
        scope=READ,
        description="At most 20 entries covering the client addresses logged for the key in the last `days` "
        "(allowed, would-block and blocked requests alike), each no broader than /24 or /48 unless that is "
        "needed to fit, never broader than /9 or /33, and none overlapping. Each has its request and address "
        "counts, first and last seen, and `covered` when the current list already lets all of them in. "
        "Nothing is changed: apply them with PUT /keys/{id}/allowlist.",
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, description="1 to 90; 7 when left out.")],
        responses={200: SuggestionsSerializer},
        errors=error_codes(query=True, lookup=True),
        field_codes=DAYS_CODES,
    )
    def get(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        query = SuggestionsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = rollout.suggestions(key=key, days=query.validated_data["days"])
        return Response(SuggestionsSerializer(result).data)


class AllowlistSimulateView(ScopedAPIView):
    """Replay the key's logged requests against a proposed list; writes nothing."""

    # A dry run changes nothing, so reading keys is enough, as for GET.
    write_scope = READ

    @api_operation(
        operation_id="allowlist_simulate",
        summary="Check a proposed allowlist against recent traffic",
        scope=READ,
        description="Replays the key's requests logged in the last `days` against `entries` (left out: the "
        "current list; `[]`: no list, which allows every address) as if it were enforced and saved now, and "
        "answers the totals and the 20 most-blocked addresses. Entries are checked as for PUT, with the same "
        "codes and dotted paths (`entries.2.cidr`). Nothing is stored.",
        request=SimulateSerializer,
        responses={200: SimulationSerializer},
        errors=error_codes(unsafe=True, dry_run=True, body=True, lookup=True),
        field_codes=(*ENTRY_FIELD_CODES, *LIST_FIELD_CODES[:2], *DAYS_CODES, "UNKNOWN_FIELD"),
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.get_key(request, key_id)
        data: dict[str, Any] = validated(SimulateSerializer, request)
        result = rollout.simulate(key=key, entries=data.get("entries"), days=data["days"])
        return Response(SimulationSerializer(result).data)
