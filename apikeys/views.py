"""Settings > Developer pages for API keys: thin views over the services and selectors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from workspaces.access import authorize
from workspaces.current import current_membership
from workspaces.roles import Action, can

from . import extensions, rollout_views, selectors, services
from .conf import conf
from .forms import (
    ENTRY_PREFIX,
    ROW_FIELDS,
    EntryFormSet,
    KeyForm,
    ModeForm,
    RollForm,
    add_service_errors,
    consume_nonce,
    duration_choices,
    issue_nonce,
    overlap_notes,
    rows_after_action,
    unbound_copy,
)
from .models import ApiKey
from .ratelimit import monthly_usage
from .ratelimit_forms import LimitsForm
from .request import AuthenticatedHttpRequest, actor_of, client_ip_text
from .services.leaks import active_containment

ROW_BLANK = dict.fromkeys(ROW_FIELDS, "")
ALREADY_DONE = (
    "That form was already submitted, so nothing was done twice. A secret is shown only once: "
    "if you did not copy it, roll the key to get a new one."
)
GET_POST = require_http_methods(["GET", "POST"])


def _workspace_id(request: AuthenticatedHttpRequest) -> Any:
    return current_membership(request).workspace_id


def _key(request: AuthenticatedHttpRequest, key_id: Any) -> ApiKey:
    """A key of the current workspace, or 404."""
    return selectors.key_get_for(workspace_id=_workspace_id(request), key_id=key_id)


def _may_change(request: AuthenticatedHttpRequest, key: ApiKey) -> bool:
    """Whether the member may change ``key``: the controls that change it are shown only then."""
    role = current_membership(request).role
    return can(role, Action.MANAGE_OWN_KEY, created_it=key.created_by_id == request.user.pk)


def _changeable_key(request: AuthenticatedHttpRequest, key_id: Any) -> ApiKey:
    """A key of the current workspace that the member may change; else 404, or 403 INSUFFICIENT_ROLE."""
    key = _key(request, key_id)
    authorize(actor_of(request), key.workspace_id, Action.MANAGE_OWN_KEY, created_by_id=key.created_by_id)
    return key


def _editor_context(request: HttpRequest, rows: Any) -> dict[str, Any]:
    return {
        "rows": rows,
        "rows_with_notes": [(form, {}) for form in rows.forms],
        "entry_prefix": ENTRY_PREFIX,
        "max_entries": conf.MAX_ALLOWLIST_ENTRIES,
        "at_limit": len(rows.forms) >= conf.MAX_ALLOWLIST_ENTRIES,
        "client_ip": client_ip_text(request),
        "durations": duration_choices(),
    }


def _secret_response(request: HttpRequest, key: ApiKey, secret: str, *, rolled: bool) -> HttpResponse:
    """Show a new secret in this response only: nothing stores it, no cache keeps it."""
    response = render(request, "apikeys/key_secret.html", {"key": key, "secret": secret, "rolled": rolled})
    add_never_cache_headers(response)
    return response


def home(request: HttpRequest) -> HttpResponse:
    """Send visitors to Settings > Developer."""
    return redirect("developer")


@login_required
def developer(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The API Keys table of the current workspace; each row offers what the member may do to it."""
    keys = list(selectors.key_list_for(workspace_id=_workspace_id(request)))
    changeable = {key.pk for key in keys if _may_change(request, key)}
    # This month's usage of limited keys, one read for the whole table (SPEC §18).
    usage = monthly_usage(keys)
    return render(request, "apikeys/developer.html", {"keys": keys, "changeable": changeable, "usage": usage})


def _limits_for(request: HttpRequest, form: KeyForm) -> LimitsForm:
    """The Limits fields: as typed (after a row button), or the workspace's default rate limit."""
    if request.method == "POST":
        return unbound_copy(LimitsForm(request.POST))
    return LimitsForm.showing(form.policy.default_rate_limit if form.policy else None, None)


def _render_create(
    request: HttpRequest,
    form: KeyForm,
    rows: Any,
    list_errors: Sequence[str] = (),
    limits: LimitsForm | None = None,
) -> HttpResponse:
    context = {
        "limits": limits or _limits_for(request, form),
        "form": form,
        "nonce": issue_nonce(request.session),
        **_editor_context(request, rows),
        "list_errors": list(list_errors),
    }
    return render(request, "apikeys/key_create.html", context)


def _create_from(request: AuthenticatedHttpRequest, form: KeyForm, rows: Any, limits: LimitsForm) -> tuple[ApiKey, str]:
    data = form.cleaned_data
    days = data.get("expires_in")
    return services.key_create(
        workspace_id=_workspace_id(request),
        actor=actor_of(request),
        name=data["name"],
        description=data["description"],
        scopes=data["scopes"],
        allowlist=rows.entries,
        allowlist_mode=data["allowlist_mode"],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
        **limits.limits(),
    )


@login_required
@GET_POST
def key_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The Create API Key form; on success the secret is shown once."""
    authorize(actor_of(request), _workspace_id(request), Action.CREATE_KEY)
    # The workspace's policies: its default allowlist fills the rows, its longest lifetime the expiry.
    policy = services.policy_for(_workspace_id(request))
    if request.method == "GET":
        rows = EntryFormSet(initial=policy.default_allowlist, prefix=ENTRY_PREFIX)
        return _render_create(request, KeyForm(policy=policy), rows)
    form, rows = KeyForm(request.POST, policy=policy), EntryFormSet(request.POST, prefix=ENTRY_PREFIX)
    if action := request.POST.get("row_action"):
        after = rows_after_action(rows, action, request.POST.get("my_ip_duration", ""))
        return _render_create(request, unbound_copy(form), EntryFormSet(initial=after, prefix=ENTRY_PREFIX))
    limits = LimitsForm(request.POST)
    if all([form.is_valid(), rows.is_valid(), limits.is_valid()]):
        if not consume_nonce(request.session, request.POST.get("nonce", "")):
            messages.info(request, ALREADY_DONE)
            return redirect("developer")
        try:
            key, secret = _create_from(request, form, rows, limits)
        except ValidationError as exc:
            rest = limits.take_errors(exc)
            return _render_create(request, form, rows, add_service_errors(form, rest, list_field="allowlist"), limits)
        else:
            return _secret_response(request, key, secret, rolled=False)
    return _render_create(request, form, rows, limits=limits)


def _row_notes(rows: Any, key: ApiKey) -> list[dict[str, Any]]:
    """Per row: when its stored entry last matched, whether it lies inside another row, and its window."""
    stored = {entry.cidr: entry for entry in key.entries.all()}
    raw = rows.raw_rows() if rows.is_bound else [{**ROW_BLANK, **f.initial} for f in rows]
    values = [row["cidr"] for row in raw]
    overlaps = overlap_notes(values)
    notes = []
    for value, row in zip(values, raw, strict=True):
        entry = stored.get(value.strip())
        window = rollout_views.describe_window(row["not_before"], row["expires_at"])
        notes.append({"entry": entry, "overlap": overlaps.get(value.strip(), ""), "window": window})
    return notes


def _render_allowlist(
    request: AuthenticatedHttpRequest,
    key: ApiKey,
    rows: Any,
    mode: ModeForm,
    errors: Sequence[str] = (),
    **assistant: Any,
) -> HttpResponse:
    context = {
        # The rollout assistant (SPEC §15): what "Check against recent traffic" or "Suggest entries" found.
        **assistant,
        "assistant": rollout_views.assistant_available(),
        "may_suggest": rollout_views.may_suggest(key),
        **_editor_context(request, rows),
        "key": key,
        "mode_form": mode,
        "list_errors": list(errors),
        "show_matches": True,
        "rows_with_notes": list(zip(rows.forms, _row_notes(rows, key), strict=True)),
        "blocked": extensions.blocked_ips(
            workspace_id=key.workspace_id, key_id=key.pk, since=selectors.recent_window(7)
        ),
        "may_change": _may_change(request, key),
        "containment": active_containment(key),
        "events": selectors.history_for(key=key),
    }
    return render(request, "apikeys/allowlist.html", context)


@login_required
@GET_POST
def allowlist(request: AuthenticatedHttpRequest, key_id: Any) -> HttpResponse:
    """The IP Allowlist editor: Save replaces every row and the mode at once, or changes nothing."""
    key = _key(request, key_id)
    if request.method == "GET":
        initial = rollout_views.initial_rows(key)
        return _render_allowlist(
            request,
            key,
            EntryFormSet(initial=initial, prefix=ENTRY_PREFIX),
            ModeForm(initial={"mode": key.allowlist_mode}),
        )
    rows, mode = EntryFormSet(request.POST, prefix=ENTRY_PREFIX), ModeForm(request.POST)
    if action := request.POST.get("row_action"):
        if action in rollout_views.ACTIONS:
            return rollout_views.respond(request, key, rows, mode, action, _render_allowlist)
        after = rows_after_action(rows, action, request.POST.get("my_ip_duration", ""))
        return _render_allowlist(request, key, EntryFormSet(initial=after, prefix=ENTRY_PREFIX), unbound_copy(mode))
    errors: list[str] = []
    if rows.is_valid() and mode.is_valid():
        try:
            services.allowlist_replace(
                key=key, actor=actor_of(request), entries=rows.entries, mode=mode.cleaned_data["mode"]
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"The allowlist of {key.name} was saved.")
            return redirect("key-allowlist", key_id=key.pk)
    return _render_allowlist(request, key, rows, mode, errors)


@login_required
@GET_POST
def key_roll(request: AuthenticatedHttpRequest, key_id: Any) -> HttpResponse:
    """Confirm, then issue a new secret and show it once."""
    key = _changeable_key(request, key_id)
    form = RollForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        if not consume_nonce(request.session, request.POST.get("nonce", "")):
            messages.info(request, ALREADY_DONE)
            return redirect("developer")
        try:
            key, secret = services.key_roll(
                key=key, actor=actor_of(request), grace_seconds=form.cleaned_data["grace_seconds"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("developer")
        return _secret_response(request, key, secret, rolled=True)
    return render(request, "apikeys/key_roll.html", {"key": key, "form": form, "nonce": issue_nonce(request.session)})


@login_required
@GET_POST
def key_revoke(request: AuthenticatedHttpRequest, key_id: Any) -> HttpResponse:
    """Confirm, then revoke the key at once."""
    key = _changeable_key(request, key_id)
    if request.method == "POST":
        services.key_revoke(key=key, actor=actor_of(request))
        messages.success(request, f"{key.name} was revoked. Requests that use it now fail with API_KEY_REVOKED.")
        return redirect("developer")
    return render(request, "apikeys/key_revoke.html", {"key": key, "cancel_url": reverse("developer")})
