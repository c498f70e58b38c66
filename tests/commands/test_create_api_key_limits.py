"""create_api_key --rate-limit N/PER and --monthly-quota N (SPEC §18)."""

import pytest
from django.core.management.base import CommandError

from apikeys.models import ApiKey, AuditEvent
from apikeys.secrets import hash_key
from tests.commands.test_create_api_key import run

pytestmark = pytest.mark.django_db


def test_sets_the_rate_limit_and_the_quota(user):
    out, _ = run("--user", "alice", "--name", "x", "--rate-limit", "100/minute", "--monthly-quota", "5000")
    key = ApiKey.objects.get(secret_hash=hash_key(out.strip()))
    assert (key.rate_limit, key.monthly_quota) == ({"requests": 100, "per": "minute"}, 5000)
    assert AuditEvent.objects.get(api_key=key).after["rate_limit"] == {"requests": 100, "per": "minute"}


def test_none_overrides_the_workspace_default(user):
    from apikeys import services
    from workspaces.services import personal_workspace_for

    workspace_id = personal_workspace_for(user_id=user.pk).pk
    services.policy_update(
        workspace_id=workspace_id,
        actor=services.Actor(user_id=user.pk),
        default_rate_limit={"requests": 5, "per": "second"},
    )
    default, _ = run("--user", "alice", "--name", "default")
    none, _ = run("--user", "alice", "--name", "none", "--rate-limit", "none")
    assert ApiKey.objects.get(secret_hash=hash_key(default.strip())).rate_limit == {"requests": 5, "per": "second"}
    assert ApiKey.objects.get(secret_hash=hash_key(none.strip())).rate_limit is None


@pytest.mark.parametrize(
    "args, code",
    [
        pytest.param(["--rate-limit", "0/minute"], "INVALID_RATE_LIMIT", id="zero"),
        pytest.param(["--rate-limit=-5/minute"], "INVALID_RATE_LIMIT", id="negative"),
        pytest.param(["--rate-limit", "1.5/minute"], "INVALID_RATE_LIMIT", id="fraction"),
        pytest.param(["--rate-limit", "10/day"], "INVALID_RATE_LIMIT", id="unknown-per"),
        pytest.param(["--rate-limit", "10"], "INVALID_RATE_LIMIT", id="no-per"),
        pytest.param(["--rate-limit", "1000001/second"], "INVALID_RATE_LIMIT", id="too-many"),
        pytest.param(["--monthly-quota", "0"], "INVALID_QUOTA", id="zero-quota"),
        pytest.param(["--monthly-quota=-3"], "INVALID_QUOTA", id="negative-quota"),
        pytest.param(["--monthly-quota", "abc"], "INVALID_QUOTA", id="text-quota"),
        pytest.param(["--monthly-quota", "1000000000001"], "INVALID_QUOTA", id="above-10^12"),
    ],
)
def test_bad_limits_exit_with_their_code_and_create_nothing(user, args, code):
    with pytest.raises(CommandError, match=code):
        run("--user", "alice", "--name", "x", *args)
    assert ApiKey.objects.count() == 0
