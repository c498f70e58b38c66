"""The rollout assistant in the allowlist editor (SPEC §15): "Check against recent traffic" and
"Suggest entries". Both answer with the editor again, rows kept as typed: nothing is saved until
Save, the one place that applies a list.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import HttpResponse

from . import extensions, rollout
from .forms import ENTRY_PREFIX, BaseEntryFormSet, EntryFormSet, ModeForm, unbound_copy, window_text
from .models import AllowlistMode, ApiKey
from .request import AuthenticatedHttpRequest
from .windows import ACTIVE, EXPIRED, SCHEDULED, parse_moment, window_status

CHECK, SUGGEST = "check", "suggest"
ACTIONS = (CHECK, SUGGEST)
DAYS = rollout.DEFAULT_DAYS
Render = Callable[..., HttpResponse]


def initial_rows(key: ApiKey) -> list[dict[str, str]]:
    """The key's stored entries as editor rows, windows included."""
    return [
        {
            "cidr": entry.cidr,
            "label": entry.label,
            "not_before": window_text(entry.not_before),
            "expires_at": window_text(entry.expires_at),
        }
        for entry in key.entries.all()
    ]


def describe_window(not_before: str, expires_at: str) -> dict[str, str]:
    """What a row's window means now: ``{"status", "text"}``; empty for a permanent or unreadable row."""
    try:
        start, end = parse_moment(not_before or None), parse_moment(expires_at or None)
    except ValidationError:
        return {}
    if start is None and end is None:
        return {}
    status = window_status(start, end)
    when = {moment: f"{moment:%Y-%m-%d %H:%M} UTC" for moment in (start, end) if moment is not None}
    if status == EXPIRED and end is not None:
        text = f"Expired {when[end]}: matches nothing. It still counts toward the limit until you remove it."
    elif status == SCHEDULED and start is not None:
        text = f"Scheduled: starts matching {when[start]}" + (f", until {when[end]}." if end is not None else ".")
    else:
        text = f"Temporary: matches until {when[end]}." if end is not None else "Active."
    return {"status": status if status != ACTIVE or end is None else "temporary", "text": text}


def assistant_available() -> bool:
    """Whether an installed app records the traffic the assistant learns from."""
    return extensions.traffic_recorded()


def respond(
    request: AuthenticatedHttpRequest,
    key: ApiKey,
    rows: BaseEntryFormSet,
    mode: ModeForm,
    action: str,
    render: Render,
) -> HttpResponse:
    """Run the check or the suggestions and show the editor again with the rows as they were."""
    if action == SUGGEST:
        result = rollout.suggestions(key=key, days=DAYS)
        labels = {row["cidr"].strip(): row["label"] for row in rows.raw_rows()}
        suggested = [
            {"cidr": entry["cidr"], "label": labels.get(entry["cidr"], ""), "not_before": "", "expires_at": ""}
            for entry in result["entries"]
        ]
        filled = EntryFormSet(initial=suggested or rows.raw_rows(), prefix=ENTRY_PREFIX)
        return render(request, key, filled, unbound_copy(mode), suggestions=result)
    if not rows.is_valid():
        return render(request, key, rows, unbound_copy(mode), traffic_check={"invalid": True})
    result = rollout.simulate(key=key, entries=rows.entries, days=DAYS)
    result["empty"] = not rows.entries
    # Shown again as they were typed, without the blank rows the check ignored.
    typed = [row for row in rows.raw_rows() if row["cidr"].strip() or row["label"].strip()]
    return render(
        request, key, EntryFormSet(initial=typed, prefix=ENTRY_PREFIX), unbound_copy(mode), traffic_check=result
    )


def may_suggest(key: ApiKey) -> bool:
    """Report-only keys get "Suggest entries": their traffic shows where they are used from."""
    return key.allowlist_mode == AllowlistMode.REPORT
