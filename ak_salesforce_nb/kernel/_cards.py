"""Compact HTML cards for a connection or a session in a notebook (never a secret)."""

from __future__ import annotations

import datetime as dt
import html

from ..core._store import ConnectionRecord

__all__ = ["STATE_LABELS", "connection_card"]

STATE_LABELS = {
    "not_configured": ("not configured", "#706e6b"),
    "ready": ("ready to authorize", "#0176d3"),
    "waiting": ("waiting for authorization", "#dd7a01"),
    "connected": ("connected", "#2e844a"),
    "error": ("error", "#ba0517"),
    "reauthorization_required": ("reauthorization required", "#ba0517"),
}


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def connection_card(record: ConnectionRecord, *, api_usage: str = "", kind: str = "") -> str:
    label, color = STATE_LABELS.get(record.state, (record.state, "#706e6b"))
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
        "<div class='aksf-card' style='border:1px solid #d8dde6;border-radius:6px;"
        "padding:.6em .9em;display:inline-block;font-size:13px'>"
        f"<div><b>{title}{html.escape(record.name)}</b> "
        f"<span style='background:{color};color:#fff;border-radius:9px;padding:0 .6em'>"
        f"{html.escape(label)}</span></div>"
        f"<div style='margin:.3em 0;color:#444'>{html.escape(record.message)}</div>"
        f"<table>{body}</table></div>"
    )
