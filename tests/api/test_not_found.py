"""An unknown path under /api/ answers the JSON envelope, with DEBUG on or off."""

import pytest
from django.test import override_settings

from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db

PATHS = [
    pytest.param("/api/v1/nothing-here", id="unknown-v1"),
    pytest.param("/api/v1/keys/00000000-0000-0000-0000-000000000000/nothing", id="under-a-key"),
    pytest.param("/api/v2/keys", id="unknown-version"),
    pytest.param("/api/", id="api-root"),
    pytest.param("/api/v1/keys/not a uuid", id="bad-id"),
]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", PATHS)
def test_unknown_api_path_is_the_json_envelope(api, debug, method, path):
    with override_settings(DEBUG=debug):
        response = getattr(api(), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_unknown_api_path_with_a_key_is_logged_with_its_code(user, make_key, api, debug):
    key, secret = make_key(user)
    with override_settings(DEBUG=debug):
        response = api(secret).get("/api/v1/missing")
    assert response.json()["error"]["code"] == "NOT_FOUND"
    row = UsageLog.objects.get()
    assert (row.status_code, row.error_code, row.api_key_id) == (404, "NOT_FOUND", key.pk)


@override_settings(DEBUG=True)
def test_other_unknown_pages_keep_djangos_page(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
