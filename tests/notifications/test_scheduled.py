"""The scheduled jobs: key.expiring 7 days and 1 day ahead, inactive keys, partitions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from apikeys.models import ApiKey
from notifications import scheduled
from notifications.models import Event
from tests.policy_helpers import set_policy

pytestmark = pytest.mark.django_db


def expiring(key):
    return [e.data["days"] for e in Event.objects.filter(api_key=key, type="key.expiring").order_by("created_at")]


def test_a_key_is_warned_seven_days_and_one_day_before_it_expires(team_key):
    now = timezone.now()
    key, _ = team_key(expires_at=now + timedelta(days=10))
    assert scheduled.warn_expiring_keys(now=now) == 0
    for hours in range(0, 10 * 24, 1):  # the hourly job, over ten days
        scheduled.warn_expiring_keys(now=now + timedelta(hours=hours))
    assert expiring(key) == [7, 1]
    event = Event.objects.filter(type="key.expiring").first()
    assert event.data["expires_at"] == key.expires_at.isoformat() and event.data["key"]["prefix"] == key.prefix


def test_a_key_expiring_within_a_day_gets_one_warning(team_key):
    now = timezone.now()
    key, _ = team_key(expires_at=now + timedelta(hours=12))
    scheduled.warn_expiring_keys(now=now)
    scheduled.warn_expiring_keys(now=now + timedelta(hours=1))
    assert expiring(key) == [1]


def test_a_moved_expiry_is_warned_again_and_revoked_keys_are_not(team_key):
    now = timezone.now()
    key, _ = team_key(expires_at=now + timedelta(days=6))
    revoked, _ = team_key(name="gone", expires_at=now + timedelta(days=6))
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=now)
    scheduled.warn_expiring_keys(now=now)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=now + timedelta(days=5))
    scheduled.warn_expiring_keys(now=now)
    assert expiring(key) == [7, 7] and expiring(revoked) == []


def test_the_inactive_key_job_revokes_through_the_policy(team, team_key):
    key, _ = team_key()
    ApiKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(days=30))
    set_policy(team.workspace.pk, inactive_key_days=7)
    assert scheduled.revoke_inactive() == 1
    assert Event.objects.get(type="key.revoked").data["reason"] == "inactive"


def test_the_partition_job_runs_the_usage_log_command(monkeypatch):
    called = []
    monkeypatch.setattr(scheduled, "call_command", lambda name, **kw: called.append(name))
    assert scheduled.maintain_partitions() is True
    assert called and called[0] in scheduled.PARTITION_COMMANDS


@pytest.mark.parametrize(
    ("job", "commands"),
    [("seal_usage_days", "SEAL_COMMANDS"), ("prune_usage_logs", "PRUNE_COMMANDS")],
)
def test_the_usage_log_upkeep_jobs_run_their_commands(monkeypatch, job, commands):
    called = []
    monkeypatch.setattr(scheduled, "call_command", lambda name, **kw: called.append(name))
    assert getattr(scheduled, job)() is True
    assert called == [getattr(scheduled, commands)[0]]


def test_the_worker_schedules_the_usage_log_upkeep():
    from huey.contrib.djhuey import HUEY

    import notifications.tasks  # noqa: F401 - registers the periodic tasks

    def due(hour: int, minute: int) -> set[str]:
        return {task.name for task in HUEY.read_periodic(datetime(2026, 5, 20, hour, minute))}

    assert "prune_usage_logs" in due(0, 20), "daily at 00:20 UTC"
    assert "prune_usage_logs" not in due(9, 20)
    assert "seal_usage_days" in due(9, 35), "hourly"
