"""A key's monthly quota at 80 % and at 100 % raises ``key.quota``, once each, with an e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from notifications.models import Event

pytestmark = pytest.mark.django_db


def test_a_quota_raises_one_event_at_80_and_one_at_100_percent(
    team_key: Any, api: Any, local_cache: Any, django_capture_on_commit_callbacks: Any
) -> None:
    key, secret = team_key(name="billing", monthly_quota=5)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [api(secret, ip="203.0.113.5").get("/api/v1/whoami").status_code for _ in range(8)]
    assert answers == [200] * 5 + [429] * 3
    events = list(Event.objects.filter(type="key.quota").order_by("created_at"))
    assert [(e.data["percent"], e.data["used"], e.data["quota"]) for e in events] == [(80, 4, 5), (100, 5, 5)]
    assert all(e.api_key_id == key.pk and e.data["key"]["prefix"] == key.prefix for e in events)
    subjects = [message.subject for message in mail.outbox]
    assert any("has used 100 % of its monthly quota" in subject for subject in subjects)
