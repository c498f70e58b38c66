"""The admin sets a key's rate limit and monthly quota by the same rules as the API (SPEC §18)."""

import pytest

from apikeys import services
from apikeys.models import ApiKey, AuditEvent
from tests.admin.test_admin import form_data, staff  # noqa: F401 - the fixture
from workspaces.services import personal_workspace_for

pytestmark = pytest.mark.django_db


def test_add_and_change_set_the_limits_each_an_audit_event(staff, user):  # noqa: F811
    response = staff.post(
        "/admin/apikeys/apikey/add/", form_data(user, [], rate_limit="100/minute", monthly_quota="5000")
    )
    assert response.status_code == 302
    key = ApiKey.objects.get()
    assert (key.rate_limit, key.monthly_quota) == ({"requests": 100, "per": "minute"}, 5000)
    page = staff.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert 'value="100/minute"' in page

    response = staff.post(
        f"/admin/apikeys/apikey/{key.pk}/change/", form_data(user, [], rate_limit="5/second", monthly_quota="")
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.rate_limit, key.monthly_quota) == ({"requests": 5, "per": "second"}, None)
    event = AuditEvent.objects.get(api_key=key, action="key.updated")
    assert (event.before["monthly_quota"], event.after["rate_limit"]) == (5000, {"requests": 5, "per": "second"})
    assert "5/second" in staff.get("/admin/apikeys/apikey/").content.decode()


def test_a_new_key_left_empty_gets_the_workspace_default(staff, user):  # noqa: F811
    workspace_id = personal_workspace_for(user_id=user.pk).pk
    services.policy_update(
        workspace_id=workspace_id,
        actor=services.Actor(user_id=user.pk),
        default_rate_limit={"requests": 9, "per": "hour"},
    )
    staff.post("/admin/apikeys/apikey/add/", form_data(user, [], name="default"))
    staff.post("/admin/apikeys/apikey/add/", form_data(user, [], name="none", rate_limit="none"))
    assert ApiKey.objects.get(name="default").rate_limit == {"requests": 9, "per": "hour"}
    assert ApiKey.objects.get(name="none").rate_limit is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("rate_limit", "0/minute", "with N from 1 to 1000000"),
        ("rate_limit", "10/day", "with N from 1 to 1000000"),
        ("rate_limit", "ten a minute", "N/second, N/minute or N/hour"),
        ("monthly_quota", "0", "from 1 to 1,000,000,000,000"),
        ("monthly_quota", "1000000000001", "from 1 to 1,000,000,000,000"),
    ],
)
def test_bad_limits_are_shown_beside_the_field(staff, user, field, value, message):  # noqa: F811
    response = staff.post("/admin/apikeys/apikey/add/", form_data(user, [], **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ApiKey.objects.count() == 0
