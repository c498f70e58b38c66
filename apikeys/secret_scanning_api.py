"""``POST /api/v1/secret-scanning/github``: GitHub's secret-scanning partner endpoint (SPEC §17)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .drf import KeyfenceAPIMixin
from .errors import ApiError
from .schema import ErrorSerializer
from .secret_scanning import INVALID_SIGNATURE, read_report, signature_is_valid
from .services.leaks import report_tokens

MALFORMED = "MALFORMED_REQUEST"

REPORT = inline_serializer(
    "SecretScanningMatch",
    many=True,
    fields={
        "token": serializers.CharField(),
        "type": serializers.CharField(),
        "url": serializers.CharField(),
        "source": serializers.CharField(),
    },
)
VERDICTS = inline_serializer(
    "SecretScanningVerdict",
    many=True,
    fields={
        "token_raw": serializers.CharField(),
        "token_type": serializers.CharField(),
        "label": serializers.ChoiceField(choices=["true_positive", "false_positive"]),
    },
)


class RawBodyParser(BaseParser):
    """Leaves the body alone: the signature covers its exact bytes."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return None


class GitHubSecretScanningView(KeyfenceAPIMixin, APIView):
    """Reports of Keyfence keys found in public code, signed by GitHub."""

    authentication_classes: Sequence[Any] = ()
    permission_classes: Sequence[Any] = (AllowAny,)
    parser_classes: Sequence[Any] = (RawBodyParser,)

    @extend_schema(
        operation_id="secret_scanning_github",
        summary="Report leaked keys (GitHub secret scanning)",
        description="GitHub's partner format: a JSON array of `{token, type, url, source}`, signed with "
        "ECDSA P-256 over the raw body (`Github-Public-Key-Identifier`, `Github-Public-Key-Signature`). "
        "Each token that is a live Keyfence key is `true_positive`, and its key is contained as its "
        "workspace's `leak_response` says; anything else is `false_positive`.\n\n"
        "Errors: 401 `INVALID_SIGNATURE`; 400 `MALFORMED_REQUEST`.",
        request=REPORT,
        parameters=[
            OpenApiParameter("Github-Public-Key-Identifier", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Github-Public-Key-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={200: VERDICTS, 400: ErrorSerializer, 401: ErrorSerializer},
        auth=[],
        tags=["secret scanning"],
    )
    def post(self, request: Request) -> Response:
        body = request._request.body
        if not signature_is_valid(
            body,
            request.headers.get("Github-Public-Key-Identifier"),
            request.headers.get("Github-Public-Key-Signature"),
        ):
            raise ApiError(INVALID_SIGNATURE, "The report is not signed by a known GitHub key.", 401)
        try:
            reported = read_report(body)
        except ValueError as exc:
            raise ApiError(MALFORMED, str(exc), 400) from None
        verdicts = report_tokens([(item.token, item.url) for item in reported])
        return Response(
            [
                {
                    "token_raw": item.token,
                    "token_type": item.type,
                    "label": "true_positive" if live else "false_positive",
                }
                for item, live in zip(reported, verdicts, strict=True)
            ]
        )
