"""HasScopes and IsKeyOrSessionUser as plain DRF permissions: they answer, compose, and lead to 401 or 403."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication
from apikeys.permissions import HasScopes, IsKeyOrSessionUser, ScopePermission

pytestmark = pytest.mark.django_db


def view_with(*permissions: Any) -> Any:
    class Protected(APIView):
        authentication_classes = [ApiKeyAuthentication]
        permission_classes = list(permissions)

        def get(self, request: Any) -> Response:
            return Response({"ok": True})

    return Protected.as_view()


def call(view: Any, key: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    request = APIRequestFactory().get("/api/v1/orders", REMOTE_ADDR="127.0.0.1", **headers)
    return view(request)


def test_has_scopes_is_a_permission_class_and_the_same_scopes_give_the_same_class() -> None:
    assert issubclass(HasScopes("orders:read"), ScopePermission)
    assert HasScopes("orders:read") is HasScopes("orders:read")
    assert HasScopes("orders:read").scopes == frozenset({"orders:read"})


def test_a_missing_scope_answers_false_and_names_the_scope(user: Any, make_key: Any) -> None:
    _, secret = make_key(user, scopes=["keys:read"])
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="127.0.0.1")
    drf_request = view_with().cls().initialize_request(request)
    permission = HasScopes("keys:read", "logs:read")()
    assert permission.has_permission(drf_request, None) is False
    assert permission.message == "This API key lacks the scope logs:read."

    response = call(view_with(HasScopes("keys:read", "logs:read")), secret)
    assert response.status_code == 403
    assert json.loads(response.content) == {
        "error": {"code": "INSUFFICIENT_SCOPE", "message": "This API key lacks the scope logs:read."}
    }


@pytest.mark.parametrize(
    "held, permissions, status",
    [
        pytest.param(["keys:read"], [HasScopes("keys:read")], 200, id="held"),
        pytest.param(["keys:read"], [HasScopes("logs:read") | HasScopes("keys:read")], 200, id="either-of-two"),
        pytest.param(["keys:read"], [HasScopes("logs:read") & HasScopes("keys:read")], 403, id="both-of-two"),
        pytest.param(
            ["keys:read", "logs:read"], [HasScopes("logs:read") & HasScopes("keys:read")], 200, id="both-held"
        ),
        pytest.param(["keys:read"], [~HasScopes("keys:write")], 200, id="negated"),
        pytest.param([], [HasScopes("keys:read") | IsAuthenticated], 200, id="or-is-authenticated"),
        pytest.param([], [IsKeyOrSessionUser], 200, id="any-key"),
    ],
)
def test_scope_permissions_compose(
    user: Any, make_key: Any, held: list[str], permissions: list[Any], status: int
) -> None:
    _, secret = make_key(user, scopes=held)
    assert call(view_with(*permissions), secret).status_code == status


@pytest.mark.parametrize("permission", [HasScopes("keys:read"), IsKeyOrSessionUser])
def test_no_key_is_401_not_403(permission: Any) -> None:
    response = call(view_with(permission), None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
