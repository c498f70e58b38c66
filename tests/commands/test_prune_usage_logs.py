"""The prune_usage_logs command deletes old rows in batches and shows progress."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from usagelogs.models import UsageLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    now = timezone.now()
    UsageLog.objects.bulk_create(
        [
            UsageLog(timestamp=now - timedelta(days=100), method="GET", path="/api/v1/whoami", status_code=200)
            for _ in range(25)
        ]
        + [
            UsageLog(timestamp=now - timedelta(days=1), method="GET", path="/api/v1/whoami", status_code=200)
            for _ in range(5)
        ]
    )


def test_deletes_rows_older_than_retention_in_batches(rows):
    out = StringIO()
    call_command("prune_usage_logs", "--batch-size", "10", stdout=out)
    assert UsageLog.objects.count() == 5
    text = out.getvalue()
    assert "deleted 10 of 25" in text and "deleted 20 of 25" in text and "deleted 25 of 25" in text


def test_dry_run_deletes_nothing(rows):
    out = StringIO()
    call_command("prune_usage_logs", "--dry-run", stdout=out)
    assert UsageLog.objects.count() == 30
    assert "would delete 25" in out.getvalue()


def test_days_option_and_retention_setting(rows, settings):
    call_command("prune_usage_logs", "--days", "200", stdout=StringIO())
    assert UsageLog.objects.count() == 30
    settings.KEYFENCE_LOG_RETENTION_DAYS = 0
    call_command("prune_usage_logs", stdout=StringIO())
    assert UsageLog.objects.count() == 0


@pytest.mark.parametrize("args", [["--days", "-1"], ["--batch-size", "0"]])
def test_bad_arguments(rows, args):
    with pytest.raises(CommandError):
        call_command("prune_usage_logs", *args, stdout=StringIO())
    assert UsageLog.objects.count() == 30
