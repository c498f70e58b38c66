"""Changes to keys, allowlists, members and policies raise events, stored with the change and e-mailed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apikeys import services
from apikeys.services.inactive import revoke_inactive_keys
from notifications import dispatch
from notifications.models import Event, NotificationOptOut
from tests.policy_helpers import set_policy
from workspaces import members
from workspaces.access import Actor
from workspaces.models import Membership

pytestmark = pytest.mark.django_db


def types(team) -> list[str]:
    return list(Event.objects.filter(workspace=team.workspace).order_by("created_at").values_list("type", flat=True))


def test_each_change_raises_its_event_in_the_same_transaction(team, team_key, django_capture_on_commit_callbacks):
    key, _ = team_key()
    admin = services.Actor(user_id=team.members["admin"].pk)
    services.allowlist_add(key=key, actor=admin, cidr="198.51.100.7")
    services.key_roll(key=key, actor=admin)
    services.key_revoke(key=key, actor=admin)
    assert types(team) == ["key.created", "allowlist.changed", "key.rolled", "key.revoked"]
    revoked = Event.objects.get(type="key.revoked")
    assert revoked.data["reason"] == "user"
    assert revoked.data["key"]["prefix"] == key.prefix and revoked.data["key"]["status"] == "revoked"
    assert revoked.dispatched_at is None  # only queued: the transaction has not committed


def test_a_failed_change_raises_nothing(team, team_key):
    key, _ = team_key()
    with pytest.raises(ValidationError):
        services.allowlist_add(key=key, actor=services.Actor(user_id=team.members["admin"].pk), cidr="10.0.0.0/8x")
    assert types(team) == ["key.created"]


def test_inactive_keys_are_revoked_with_reason_inactive(team, team_key):
    from datetime import timedelta

    from django.utils import timezone

    _key, _ = team_key()
    set_policy(team.workspace.pk, inactive_key_days=7)
    revoke_inactive_keys(now=timezone.now() + timedelta(days=8))
    event = Event.objects.get(type="key.revoked")
    assert event.data["reason"] == "inactive" and event.data["actor"] == "inactive keys"


def test_member_and_policy_events(team):
    owner = Actor(user_id=team.members["owner"].pk)
    membership = Membership.objects.get(workspace=team.workspace, user=team.members["viewer"])
    members.member_change_role(membership=membership, actor=owner, role="developer")
    services.policy_update(workspace_id=team.workspace.pk, actor=owner, require_allowlist=True)
    assert types(team) == ["member.role_changed", "policy.changed"]


def test_dispatch_emails_admins_and_owners_who_did_not_opt_out(team, team_key, django_capture_on_commit_callbacks):
    owner = Membership.objects.get(workspace=team.workspace, user=team.members["owner"])
    NotificationOptOut.objects.create(membership=owner, event_type="key.revoked")
    key, secret = team_key()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.key_revoke(key=key, actor=services.Actor(user_id=team.members["admin"].pk))
    revoked = [m for m in mail.outbox if "revoked" in m.subject]
    assert [m.to for m in revoked] == [["admin@example.com"]]  # not the owner (opted out), nor developers
    message = revoked[0]
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "Payments" in body and key.prefix in body and "deploy" in body
        assert "http://testserver/settings/developer/" in body
        assert secret not in body and key.secret_hash not in body
    assert Event.objects.get(type="key.revoked").dispatched_at is not None


def test_email_names_the_address_and_links_to_the_key(team, team_key, django_capture_on_commit_callbacks):
    from notifications.events import emit

    key, _ = team_key()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        emit(
            workspace_id=team.workspace.pk,
            type="ip.blocked",
            data={"trigger": "first", "address": "198.51.100.9", "count": 3},
            key=key,
        )
    message = mail.outbox[0]
    assert "198.51.100.9" in message.subject and "198.51.100.9" in message.body
    assert f"http://testserver/settings/developer/keys/{key.pk}/allowlist/" in message.body


def test_an_event_raised_while_the_broker_is_down_is_sent_by_the_sweep(
    team, team_key, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from notifications import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(tasks, "dispatch_event", broker_down)
    key, _ = team_key()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.key_revoke(key=key, actor=services.Actor(user_id=team.members["admin"].pk))
    event = Event.objects.get(type="key.revoked")
    assert event.dispatched_at is None and not mail.outbox  # the request succeeded; the event waits
    monkeypatch.undo()
    assert dispatch.sweep(now=timezone.now() + timedelta(minutes=1)) == (2, 0)  # key.created and key.revoked
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert any("revoked" in m.subject for m in mail.outbox)


def test_dispatch_is_once_even_when_asked_twice(team, team_key):
    _key, _ = team_key()
    event = Event.objects.get(type="key.created")
    mail.outbox.clear()
    assert dispatch.dispatch(event.pk) is True
    assert dispatch.dispatch(event.pk) is False
    assert len(mail.outbox) == 2  # owner and admin, once each


def test_a_mail_server_outage_leaves_the_event_for_the_sweep(team, team_key, settings):
    _key, _ = team_key()
    event = Event.objects.get(type="key.created")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
    assert dispatch.dispatch(event.pk) is False
    event.refresh_from_db()
    assert event.dispatched_at is None
