"""Webhook endpoints and their deliveries (SPEC §16): scope ``workspace:admin``, or an admin's session."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.api import ScopedAPIView, validated
from apikeys.errors import ApiError
from apikeys.request import actor_of, workspace_id_of
from apikeys.schema import api_operation, error_codes
from workspaces.access import authorize
from workspaces.roles import INSUFFICIENT_ROLE, Action

from . import services
from .models import WebhookDelivery, WebhookEndpoint
from .serializers import (
    WebhookCreateSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
    WebhookUpdateSerializer,
)
from .urlguard import WEBHOOK_URL_NOT_ALLOWED, UrlNotAllowed

ADMIN = "workspace:admin"


def uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


FIELD_CODES = (
    "REQUIRED",
    "NULL",
    "BLANK",
    "INVALID",
    "MAX_LENGTH",
    "NOT_A_LIST",
    "UNKNOWN_FIELD",
    services.INVALID_EVENT_TYPE,
)
ROLE_NOTE = "A browser session needs the admin role in its current workspace (else `INSUFFICIENT_ROLE`)."


def _errors(**kwargs: Any) -> dict[int, tuple[str, ...]]:
    errors = error_codes(**kwargs)
    errors[403] = tuple(dict.fromkeys((*errors[403], INSUFFICIENT_ROLE)))
    if kwargs.get("body"):
        errors[400] = (*errors[400], WEBHOOK_URL_NOT_ALLOWED)
    return errors


def _not_allowed(exc: UrlNotAllowed) -> ApiError:
    return ApiError(
        WEBHOOK_URL_NOT_ALLOWED,
        exc.message,
        400,
        fields={"url": [{"code": WEBHOOK_URL_NOT_ALLOWED, "message": exc.message}]},
    )


class WebhookView(ScopedAPIView):
    read_scope = write_scope = ADMIN

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Reading endpoints is an admin's business too: their URLs and failures are configuration.
        authorize(actor_of(request), workspace_id_of(request), Action.MANAGE_WEBHOOKS)

    def get_endpoint(self, request: Request, endpoint_id: str) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint, pk=uuid_or_404(endpoint_id), workspace_id=workspace_id_of(request))


class WebhookListView(WebhookView):
    @api_operation(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        scope=ADMIN,
        description=f"The workspace's webhook endpoints, oldest first; never their secrets. {ROLE_NOTE}",
        responses={200: WebhookEndpointSerializer(many=True)},
        errors=_errors(),
    )
    def get(self, request: Request) -> Response:
        endpoints = WebhookEndpoint.objects.filter(workspace_id=workspace_id_of(request))
        return Response(WebhookEndpointSerializer(endpoints, many=True).data)

    @api_operation(
        operation_id="webhooks_create",
        summary="Create a webhook endpoint",
        scope=ADMIN,
        description='Create an endpoint for `events` (event types, or `["*"]`, the default, for all). The answer '
        "holds the signing secret `whsec_…`, shown this once. The URL must be https and resolve to a public "
        f"address (else `WEBHOOK_URL_NOT_ALLOWED`). {ROLE_NOTE}",
        request=WebhookCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
        errors=_errors(unsafe=True, body=True),
        field_codes=FIELD_CODES,
    )
    def post(self, request: Request) -> Response:
        data = validated(WebhookCreateSerializer, request)
        try:
            endpoint = services.endpoint_create(workspace_id=workspace_id_of(request), actor=actor_of(request), **data)
        except UrlNotAllowed as exc:
            raise _not_allowed(exc) from None
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(WebhookView):
    @api_operation(
        operation_id="webhooks_update",
        summary="Change a webhook endpoint",
        scope=ADMIN,
        description="Change `url`, `events` or `enabled`; what is left out stays. Enabling an endpoint the server "
        f"disabled forgets its failures. {ROLE_NOTE}",
        request=WebhookUpdateSerializer,
        responses={200: WebhookEndpointSerializer},
        errors=_errors(unsafe=True, body=True, lookup=True),
        field_codes=FIELD_CODES,
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self.get_endpoint(request, endpoint_id)
        data = validated(WebhookUpdateSerializer, request)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, actor=actor_of(request), **data)
        except UrlNotAllowed as exc:
            raise _not_allowed(exc) from None
        return Response(WebhookEndpointSerializer(endpoint).data)

    @api_operation(
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint",
        scope=ADMIN,
        description=f"Delete the endpoint and its delivery log. {ROLE_NOTE}",
        responses={204: None},
        errors=_errors(unsafe=True, lookup=True),
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        services.endpoint_delete(endpoint=self.get_endpoint(request, endpoint_id), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


class WebhookDeliveriesView(WebhookView):
    pagination_class = DeliveryPagination

    @api_operation(
        operation_id="webhooks_deliveries",
        summary="List an endpoint's deliveries",
        scope=ADMIN,
        description="Each event sent to the endpoint, newest first, with its status (`pending`, `delivered`, "
        "`failed`) and every attempt: its time, HTTP status code (null when none came) and duration. "
        f"Cursor-paginated: follow `next`. {ROLE_NOTE}",
        responses={200: WebhookDeliverySerializer(many=True)},
        errors=_errors(lookup=True, cursor=True),
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self.get_endpoint(request, endpoint_id)
        rows = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").prefetch_related("attempts")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookResendView(WebhookView):
    @api_operation(
        operation_id="webhooks_delivery_resend",
        summary="Resend a delivery",
        scope=ADMIN,
        description="Queue the delivery again now, with a fresh retry schedule; its earlier attempts stay listed. "
        f"{ROLE_NOTE}",
        request=None,
        responses={202: WebhookDeliverySerializer},
        errors=_errors(unsafe=True, lookup=True),
    )
    def post(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        endpoint = self.get_endpoint(request, endpoint_id)
        delivery = get_object_or_404(
            WebhookDelivery.objects.select_related("endpoint"), pk=uuid_or_404(delivery_id), endpoint=endpoint
        )
        delivery = services.delivery_resend(delivery=delivery, actor=actor_of(request))
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
