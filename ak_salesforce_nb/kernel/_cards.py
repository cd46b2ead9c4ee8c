"""Compact HTML cards for a connection or a session in a notebook (never a secret)."""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass

from ..core._store import ConnectionRecord
from ._theme import BORDER, TEXT, badge_style, text_style

__all__ = [
    "STATE_LABELS",
    "ShownState",
    "checked_ago",
    "connection_card",
    "shown_state",
    "state_badge_style",
    "state_text_style",
]

#: State → (its badge's label, its tone in `_theme.TONES`).
STATE_LABELS = {
    "not_configured": ("not configured", "neutral"),
    "ready": ("ready to authorize", "brand"),
    "waiting": ("waiting for authorization", "warn"),
    "connected": ("connected", "success"),
    "error": ("error", "error"),
    "reauthorization_required": ("reauthorization required", "error"),
    # What a check against Salesforce adds to a connection the store calls connected.
    "checking": ("checking…", "neutral"),
    "unreachable": ("unreachable", "error"),
    "check_failed": ("check failed", "error"),
}


def state_badge_style(state: str) -> str:
    """The inline style of `state`'s badge, in the theme's colours."""
    return badge_style(STATE_LABELS.get(state, ("", "neutral"))[1])


def state_text_style(state: str) -> str:
    """The inline style of the sentence under `state`'s badge: a failure reads in the
    error tone, everything else in the theme's text colour."""
    tone = STATE_LABELS.get(state, ("", "neutral"))[1]
    return text_style(tone) if tone == "error" else TEXT


@dataclass(frozen=True)
class ShownState:
    """What a badge shows: `state` (a `STATE_LABELS` key, the badge's ``data-state``),
    its `label` (with the check's age), and the `sentence` under it."""

    state: str
    label: str
    sentence: str


def checked_ago(seconds: float) -> str:
    """``just now``, ``5 s ago`` … ``55 s ago``, ``3 min ago``, ``2 h ago``, ``4 days ago``:
    in steps of 5 s below a minute, so that a badge changes at most every 5 s."""
    seconds = max(0.0, seconds)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds // 5) * 5} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86_400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def shown_state(
    record: ConnectionRecord | None,
    *,
    now: float | None = None,
    interval: float | None = None,
    checking: bool = False,
) -> ShownState:
    """The state to show for `record`: the store's, and for a connection the store calls
    connected, what the last check against Salesforce found.

    With `interval` (a view that keeps checking), a result older than twice the interval
    or none at all shows *checking…* rather than a connected badge nobody verified (a
    fresh emulator, a revoked app); `checking` (a check of this view in flight, e.g. its
    Test) does too. Without it (a static card) the last result shows with its age.
    """
    if record is None:
        return ShownState(
            "not_configured",
            STATE_LABELS["not_configured"][0],
            "Enter the Client ID (Consumer Key) and Client Secret (Consumer Secret) of your "
            "external client app or connected app, then click Authorize.",
        )
    state = record.state
    if state != "connected" or not record.has_tokens:
        return ShownState(
            state, STATE_LABELS.get(state, (state.replace("_", " "), ""))[0], record.message
        )
    at = time.time() if now is None else now
    outcome = record.check_outcome
    age = at - record.checked_at if record.checked_at is not None else None
    stale = age is None or (interval is not None and age > 2 * interval)
    if checking or (interval is not None and stale):
        return ShownState(
            "checking",
            "checking…",
            f"{record.message} Checking with Salesforce that the authorization still works…",
        )
    if age is None:
        return ShownState("connected", "connected (not checked yet)", record.message)
    when = checked_ago(age)
    if outcome == "connected":
        return ShownState("connected", f"connected (checked {when})", record.message)
    if outcome == "unreachable":
        return ShownState(
            "unreachable",
            "unreachable",
            f"Salesforce could not be reached (checked {when}): {record.check_reason} "
            "The authorization is kept; it is checked again shortly, or click Test.",
        )
    if outcome == "failed":
        return ShownState(
            "check_failed",
            "check failed",
            f"The check against Salesforce failed (checked {when}): {record.check_reason}",
        )
    return ShownState("connected", "connected (not checked yet)", record.message)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def connection_card(record: ConnectionRecord, *, api_usage: str = "", kind: str = "") -> str:
    """The card of a connection (a session's ``_repr_html_``): its state as last checked
    against Salesforce, with the check's age, since a card is drawn once."""
    shown = shown_state(record)
    label = shown.label
    rows = [
        ("User", record.username),
        ("Org", " · ".join(x for x in (record.organization_name, record.organization_id) if x)),
        ("Instance", record.instance_url),
        ("Login host", record.login_url),
        ("Authorized", _when(record.authorized_at)),
        ("API usage", api_usage.replace("api-usage=", "")),
    ]
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:500'>{html.escape(k)}</th>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in rows
        if v
    )
    title = f"{html.escape(kind)} " if kind else ""
    return (
        f"<div class='aksf-card' style='border:{BORDER};border-radius:6px;"
        "padding:.6em .9em;display:inline-block;font-size:13px'>"
        f"<div><b>{title}{html.escape(record.name)}</b> "
        f"<span class='aksf-card-state' data-state='{html.escape(shown.state)}' "
        f"style='{state_badge_style(shown.state)}'>"
        f"{html.escape(label)}</span></div>"
        f"<div style='margin:.3em 0;{state_text_style(shown.state)}'>"
        f"{html.escape(shown.sentence)}</div>"
        f"<table>{body}</table></div>"
    )
