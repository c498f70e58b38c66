"""The key's owner as ``request.user``: what a host project's view reads costs no extra query."""

import pickle

import pytest
from django.contrib.auth import get_user_model
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication, KeyOwner

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class HostView(APIView):
    """What most host projects write: the key class and DRF's own IsAuthenticated."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        user = request.user
        return Response(
            {
                "authenticated": user.is_authenticated,
                "active": user.is_active,
                "anonymous": user.is_anonymous,
                "pk": user.pk,
                "id": user.id,
            }
        )


class ThrottledHostView(HostView):
    """DRF's user throttle keys on ``request.user.pk``."""

    throttle_classes = [type("Throttle", (UserRateThrottle,), {"rate": "1000/min"})]


class UsernameView(HostView):
    def get(self, request):
        user = request.user
        return Response(
            {
                "username": user.username,
                "again": user.username,
                "staff": user.is_staff,
                "is_user": isinstance(user, get_user_model()),
                "pk": user.pk,
            }
        )


# Outside the API prefix, so that the usage log (one INSERT per request in the test settings)
# does not enter the count; the middleware still runs.
urlpatterns = [
    path("host/whoami", HostView.as_view()),
    path("host/throttled", ThrottledHostView.as_view()),
    path("host/username", UsernameView.as_view()),
]


@pytest.mark.parametrize("route", ["whoami", "throttled"])
def test_is_authenticated_view_costs_one_query_per_request(
    cache_mode, user, make_key, api, django_assert_max_num_queries, route, django_assert_num_queries
):
    _, secret = make_key(user, allow=["203.0.113.0/24"])
    client = api(secret, ip="203.0.113.9")
    assert client.get(f"/host/{route}").status_code == 200  # compiles the allowlist, notes last use
    for _ in range(3):
        if cache_mode["REDIS_URL"]:  # the shared cache answers; the database is not asked
            with django_assert_max_num_queries(0):
                response = client.get(f"/host/{route}")
        else:
            with django_assert_num_queries(1):
                response = client.get(f"/host/{route}")
        assert response.status_code == 200
        assert response.json() == {
            "authenticated": True,
            "active": True,
            "anonymous": False,
            "pk": user.pk,
            "id": user.pk,
        }


def test_is_authenticated_view_still_refuses_a_request_without_a_key(api):
    response = api().get("/host/whoami")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_reading_another_attribute_loads_the_owner_once(user, make_key, api, django_assert_num_queries, local_cache):
    _, secret = make_key(user)
    client = api(secret)
    assert client.get("/host/username").status_code == 200
    with django_assert_num_queries(2):  # the key's row, then the owner's, once
        response = client.get("/host/username")
    assert response.json() == {"username": "alice", "again": "alice", "staff": False, "is_user": True, "pk": user.pk}


def test_owner_answers_identity_questions_without_a_query(user, django_assert_num_queries):
    owner = KeyOwner(user.pk)
    with django_assert_num_queries(0):
        assert owner and owner.is_authenticated and owner.is_active and not owner.is_anonymous
        assert owner.pk == owner.id == user.pk
        assert owner == user and (owner != user) is False
        assert owner == KeyOwner(user.pk) and owner != KeyOwner(user.pk + 1)
        assert hash(owner) == hash(user) and user in {owner}
        assert owner != object()


def test_owner_behaves_as_the_user_once_loaded(user, other_user, django_assert_num_queries):
    owner = KeyOwner(user.pk)
    with django_assert_num_queries(1):
        assert isinstance(owner, get_user_model())
        assert owner.username == "alice" and owner.get_username() == "alice"
        assert owner.get_full_name() == "" and owner.has_usable_password()
        assert user == owner and owner == user and owner != other_user
    user.is_active = False
    user.save(update_fields=["is_active"])
    owner.refresh_from_db()
    assert owner.is_active is False  # the loaded user answers from now on
    assert pickle.loads(pickle.dumps(owner)) == user


def test_owner_deleted_after_authentication_raises_on_first_use(user):
    owner = KeyOwner(user.pk)
    user.delete()
    assert owner.is_authenticated  # known from the key's row
    with pytest.raises(get_user_model().DoesNotExist):
        _ = owner.username
