"""E-mail to a workspace's admins and owners (SPEC §16), through Django's e-mail framework.

Each message names the workspace, the key (by name and prefix, never its secret) and the address,
and links to the page that acts on it; each member can turn event types off for themselves.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from workspaces.models import Membership, Role

from .conf import conf
from .models import Event, EventType, NotificationOptOut, WebhookEndpoint

NOTIFIED_ROLES = (Role.ADMIN, Role.OWNER)


def recipients(workspace_id: Any, event_type: str | None) -> list[Membership]:
    """The active admins and owners with an e-mail address who have not turned ``event_type`` off."""
    members = Membership.objects.filter(
        workspace_id=workspace_id, role__in=NOTIFIED_ROLES, user__is_active=True
    ).exclude(user__email="")
    if event_type is not None:
        opted_out = NotificationOptOut.objects.filter(event_type=event_type).values("membership_id")
        members = members.exclude(pk__in=opted_out)
    return list(members.select_related("user", "workspace").order_by("user__username"))


def link(path: str) -> str:
    return conf.BASE_URL + path


def action_path(event: Event) -> str:
    """The page that acts on the event: the key's allowlist editor, the keys, members or policies."""
    key_id = (event.data.get("key") or {}).get("id")
    if event.type.startswith("member."):
        return reverse("members")
    if event.type == EventType.POLICY_CHANGED:
        return reverse("policies")
    if key_id and event.type != EventType.KEY_REVOKED and event.api_key_id is not None:
        return reverse("key-allowlist", args=[key_id])
    return reverse("developer")


def summary(event: Event) -> str:
    """One line about the event, as the subject and first line of its e-mail."""
    data = event.data
    key = data.get("key") or {}
    named = f"{key.get('name')} ({key.get('prefix')})" if key else ""
    after = data.get("after") or {}
    before = data.get("before") or {}
    member = after.get("user") or before.get("user") or ""
    lines = {
        EventType.KEY_CREATED: f"Key {named} was created",
        EventType.KEY_ROLLED: f"Key {named} was rolled",
        EventType.KEY_REVOKED: f"Key {named} was revoked (reason: {data.get('reason', 'user')})",
        EventType.KEY_EXPIRING: f"Key {named} expires on {data.get('expires_at', '')[:10]}",
        EventType.ALLOWLIST_CHANGED: f"The allowlist of key {named} changed",
        EventType.IP_NEW: f"{data.get('address')} would be blocked by report-only key {named}",
        EventType.KEY_LEAKED: f"Key {named} was reported leaked",
        EventType.KEY_QUOTA: (
            f"Key {named} has used {data.get('percent')} % of its monthly quota "
            f"({data.get('used')} of {data.get('quota')} requests in {data.get('month')})"
        ),
        EventType.POLICY_CHANGED: "The workspace's policies changed",
        EventType.MEMBER_ADDED: f"{member} was added as {after.get('role', '')}",
        EventType.MEMBER_REMOVED: f"{member} was removed",
        EventType.MEMBER_ROLE_CHANGED: f"{member} is now {after.get('role', '')}",
    }
    if event.type == EventType.IP_BLOCKED:
        if data.get("trigger") == "spike":
            return (
                f"{data.get('count')} requests from {data.get('address')} to key {named} were blocked "
                f"in {data.get('minutes')} minutes"
            )
        return f"Requests from {data.get('address')} to key {named} are being blocked"
    return lines.get(EventType(event.type), event.type)


def _message(to: str, subject: str, template: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


def send_event_emails(event: Event) -> int:
    """E-mail the event to everyone who should hear of it; returns how many messages were sent."""
    members = recipients(event.workspace_id, event.type)
    if not members:
        return 0
    line = summary(event)
    context = {
        "event": event,
        "summary": line,
        "workspace": event.workspace,
        "key": event.data.get("key"),
        "address": event.data.get("address"),
        "action_url": link(action_path(event)),
        "settings_url": link(reverse("notification-settings")),
    }
    subject = f"[Keyfence] {event.workspace.name}: {line}"
    messages = [_message(m.user.email, subject, "event", context) for m in members]
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def endpoint_disabled(endpoint_id: Any) -> int:
    """Tell the workspace's admins and owners that a failing endpoint was turned off."""
    endpoint = WebhookEndpoint.objects.select_related("workspace").filter(pk=endpoint_id).first()
    if endpoint is None:
        return 0
    context = {
        "endpoint": endpoint,
        "workspace": endpoint.workspace,
        "days": conf.WEBHOOK_DISABLE_AFTER_DAYS,
        "action_url": link(reverse("webhooks")),
    }
    subject = f"[Keyfence] {endpoint.workspace.name}: a webhook endpoint was disabled"
    members = recipients(endpoint.workspace_id, None)
    messages = [_message(m.user.email, subject, "endpoint_disabled", context) for m in members]
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
