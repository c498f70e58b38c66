"""Webhook deliveries: signed, bounded in time and size, retried, never to a private address."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apikeys import services
from notifications import deliveries, dispatch, sender, urlguard
from notifications.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from notifications.services import endpoint_create
from notifications.signing import header
from tests.notifications.receivers import receiver
from workspaces.access import Actor

pytestmark = pytest.mark.django_db


def endpoint_for(team, url, events=("*",)):
    return endpoint_create(
        workspace_id=team.workspace.pk, actor=Actor(user_id=team.members["admin"].pk), url=url, events=list(events)
    )


def verify(secret: str, headers: dict, body: bytes) -> dict:
    parts = dict(item.split("=", 1) for item in headers["Keyfence-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    assert abs(time.time() - int(parts["t"])) < 300
    return json.loads(body)


def test_revoking_a_key_delivers_a_signed_key_revoked(
    team, team_key, allow_private, django_capture_on_commit_callbacks
):
    with receiver() as hook:
        endpoint = endpoint_for(team, hook.url, events=["key.revoked"])
        key, secret = team_key()
        with django_capture_on_commit_callbacks(execute=True):
            services.key_revoke(key=key, actor=services.Actor(user_id=team.members["admin"].pk))
        (got,) = hook.wait(1)
    body = verify(endpoint.secret, got.headers, got.body)
    assert body["type"] == "key.revoked" and body["id"].startswith("evt_")
    assert body["workspace"] == {"id": str(team.workspace.pk), "slug": "payments", "name": "Payments"}
    assert body["data"]["key"]["prefix"] == key.prefix and body["data"]["reason"] == "user"
    assert secret not in got.body.decode() and key.secret_hash not in got.body.decode()
    assert got.headers["Keyfence-Event"] == "key.revoked"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.DELIVERED
    (attempt,) = delivery.attempts.all()
    assert attempt.status_code == 200 and attempt.duration_ms > 0


def test_endpoints_get_only_the_events_they_chose(team, team_key, allow_private, django_capture_on_commit_callbacks):
    with receiver() as hook:
        endpoint_for(team, hook.url, events=["key.rolled"])
        with django_capture_on_commit_callbacks(execute=True):
            team_key()
        assert hook.received == []


def test_the_signature_is_hmac_sha256_of_t_dot_body_with_the_whole_secret():
    assert header("whsec_abc", 1700000000, b'{"a":1}') == (
        "t=1700000000,v1=" + hmac.new(b"whsec_abc", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    )


def _one_delivery(team, url):
    endpoint = endpoint_for(team, url)
    event = Event.objects.create(workspace=team.workspace, type="policy.changed", data={})
    return WebhookDelivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=timezone.now())


@pytest.mark.parametrize("behaviour", ["500", "redirect"])
def test_a_failure_is_retried_on_the_backoff_schedule(team, allow_private, behaviour):
    with receiver(behaviour) as hook:
        delivery = _one_delivery(team, hook.url)
        attempt = deliveries.attempt(delivery.pk)
        assert len(hook.received) == 1  # a redirect is not followed
    delivery.refresh_from_db()
    assert attempt.status_code == (500 if behaviour == "500" else 302)
    assert delivery.status == DeliveryStatus.PENDING and delivery.failures == 1
    assert timedelta(seconds=55) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=60)


def test_after_the_last_retry_a_delivery_is_failed(team, allow_private):
    with receiver("500") as hook:
        delivery = _one_delivery(team, hook.url)
        waits = []
        for _ in range(7):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            assert deliveries.attempt(delivery.pk) is not None
            delivery.refresh_from_db()
            if delivery.next_attempt_at:
                waits.append(round((delivery.next_attempt_at - timezone.now()).total_seconds() / 60))
    assert waits == [1, 5, 30, 120, 360, 720]
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts.count() == 7


def test_a_hanging_receiver_costs_the_timeout_and_no_more(team, allow_private, settings):
    settings.KEYFENCE_WEBHOOK_TIMEOUT = 1
    with receiver("hang") as hook:
        delivery = _one_delivery(team, hook.url)
        started = time.monotonic()
        attempt = deliveries.attempt(delivery.pk)
        assert time.monotonic() - started < 3
    assert attempt.status_code is None and "1 s" in attempt.error


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(team, allow_private, settings):
    settings.KEYFENCE_WEBHOOK_TIMEOUT = 1
    with receiver("drip") as hook:
        delivery = _one_delivery(team, hook.url)
        started = time.monotonic()
        attempt = deliveries.attempt(delivery.pk)
        assert time.monotonic() - started < 3
    assert attempt.status_code is None


def test_a_ten_megabyte_answer_is_not_read(team, allow_private):
    with receiver("big") as hook:
        delivery = _one_delivery(team, hook.url)
        started = time.monotonic()
        attempt = deliveries.attempt(delivery.pk)
        assert time.monotonic() - started < 2
    assert attempt.status_code == 200


def test_a_tls_error_is_a_failed_attempt(team, allow_private):
    with receiver() as hook:  # plain HTTP where TLS is expected
        delivery = _one_delivery(team, hook.url.replace("http://", "https://"))
        attempt = deliveries.attempt(delivery.pk)
    assert attempt.status_code is None and attempt.error.startswith("TLS error")


def test_an_endpoint_failing_for_three_days_is_disabled_and_admins_are_told(team, allow_private):
    with receiver("500") as hook:
        delivery = _one_delivery(team, hook.url)
        WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=3, minutes=1))
        mail.outbox.clear()
        deliveries.attempt(delivery.pk)
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.enabled and endpoint.disabled_reason == "failing"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    # on_commit ran at once: the test's transaction is the outer one, so call it as the commit would.
    from notifications import emails

    emails.endpoint_disabled(endpoint.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "owner@example.com"]
    assert hook.url in mail.outbox[0].body and "/settings/developer/webhooks/" in mail.outbox[0].body


def test_a_success_clears_the_failing_mark(team, allow_private):
    with receiver() as hook:
        delivery = _one_delivery(team, hook.url)
        WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=2))
        deliveries.attempt(delivery.pk)
    assert WebhookEndpoint.objects.get().failing_since is None


def test_resend_queues_a_delivery_again(team, allow_private, django_capture_on_commit_callbacks):
    with receiver() as hook:
        delivery = _one_delivery(team, hook.url)
        deliveries.attempt(delivery.pk)
        with django_capture_on_commit_callbacks(execute=True):
            deliveries.resend(delivery)
        hook.wait(2)
    assert len(hook.received) == 2 and delivery.attempts.count() == 2


def test_a_lost_delivery_message_is_sent_by_the_sweep(team, allow_private):
    with receiver() as hook:
        delivery = _one_delivery(team, hook.url)
        dispatch.sweep(now=timezone.now() + timedelta(minutes=1))
        hook.wait(1)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_delivery_is_sent_once_even_when_asked_twice(team, allow_private):
    with receiver() as hook:
        delivery = _one_delivery(team, hook.url)
        assert deliveries.attempt(delivery.pk) is not None
        assert deliveries.attempt(delivery.pk) is None
    assert len(hook.received) == 1


# --- SSRF --------------------------------------------------------------------------------------


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Resolve names from ``answers``; each call pops the first answer when more than one is left.

    Returns the list of names looked up, in order.
    """
    lookups: list[str] = []

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        found = answers[host]
        address = found.pop(0) if len(found) > 1 else found[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(urlguard.socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://10.1.2.3/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
        "https://240.0.0.1/",
        "https://user:pass@hooks.example.com/",
        "https://metadata.example.com/",
        "https://localhost.example.com/",
        "not a url",
        "",
    ],
)
def test_private_and_plain_http_urls_are_refused(monkeypatch, url):
    real = socket.getaddrinfo
    names = {
        "hooks.example.com": ["93.184.216.34"],
        "metadata.example.com": ["169.254.169.254"],
        # One public and one private answer: every address must be public.
        "localhost.example.com": ["93.184.216.34", "127.0.0.1"],
    }

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in names[host]]

    monkeypatch.setattr(urlguard.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(urlguard.UrlNotAllowed) as caught:
        urlguard.check(url)
    assert caught.value.code == "WEBHOOK_URL_NOT_ALLOWED"


def test_a_public_https_url_is_allowed(monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    assert urlguard.check("https://hooks.example.com/keyfence") == ("hooks.example.com", 443, ["93.184.216.34"])


def test_dns_that_changes_after_creation_is_refused_at_delivery(team, monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34", "127.0.0.1"]})
    delivery = _one_delivery(team, "https://hooks.example.com/")  # checked: 93.184.216.34
    attempt = deliveries.attempt(delivery.pk)  # now it says 127.0.0.1
    assert attempt.status_code is None and "127.0.0.1" in attempt.error


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch, allow_private):
    """The name is resolved once: the request is sent to that address, with the name as its Host."""
    with receiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        # The first answer is checked and used; a second lookup would get an address nobody listens on.
        lookups = fake_dns(monkeypatch, {"hooks.internal": ["127.0.0.1", "127.0.0.2"]})
        outcome = sender.post(f"http://hooks.internal:{port}/hook", b"{}", {})
        hook.wait(1)
    assert outcome.status_code == 200 and lookups == ["hooks.internal"]
    assert hook.received[0].headers["Host"] == f"hooks.internal:{port}"
