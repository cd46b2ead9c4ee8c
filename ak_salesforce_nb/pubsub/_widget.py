"""The live view of a subscription: status, counts, the last events and a Stop button.

Rendered as ipywidgets HTML, refreshed at most every `interval` seconds while events
arrive. It shows record data the user asked for, never a token.

The view's output also carries a static text/plain and text/html summary (topic,
connection, state, counts, as they were when it was shown), so a saved notebook reads on
GitHub or nbviewer instead of "Loading widget…". It is the same idea as
``kernel/_static`` (the kernel's widgets use that); the Pub/Sub client may not import the
kernel package, hence the few lines here.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from markupsafe import Markup

from ._events import Event

__all__ = ["SubscriptionView", "Viewed", "static_html", "static_text"]


class Viewed(Protocol):
    """What the view reads of a subscription, and the hooks it uses (`Subscription`
    has them). Named here so that the view does not import the subscription that
    creates it (``Subscription._ipython_display_``)."""

    @property
    def topic(self) -> str: ...
    @property
    def connection(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def live(self) -> bool: ...
    @property
    def done(self) -> bool: ...
    @property
    def error(self) -> BaseException | None: ...
    @property
    def received(self) -> int: ...
    @property
    def replay_id(self) -> bytes | None: ...
    @property
    def notices(self) -> list[str]: ...
    @property
    def counts(self) -> Mapping[tuple[str, str], int]: ...

    def last(self, count: int) -> list[Event]: ...
    def add_listener(self, listener: Callable[[], None]) -> None: ...
    def remove_listener(self, listener: Callable[[], None]) -> None: ...
    def stop(self) -> object: ...


_STYLE = (
    "<style>.aksf-ps table{border-collapse:collapse;font-size:12px}"
    ".aksf-ps th,.aksf-ps td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}.aksf-ps .muted{color:#777}</style>"
)
_VALUE_CHARS = 40


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def _summary(event: Event, limit: int = 4) -> str:
    items = list(event.fields.items())
    shown = ", ".join(f"{key}={_short(value)}" for key, value in items[:limit])
    more = f" (+{len(items) - limit})" if len(items) > limit else ""
    return html.escape(shown + more)


def render_header(sub: Viewed) -> str:
    if sub.live:
        badge = '<span style="color:#2e7d32">● live</span>'
    elif sub.error is not None:
        badge = '<span style="color:#c62828">■ failed</span>'
    elif sub.done:
        badge = '<span class="muted">■ stopped</span>'
    else:
        badge = '<span style="color:#ef6c00">○ connecting</span>'
    replay = sub.replay_id.hex() if sub.replay_id else "—"
    notices = "".join(f"<div>⚠ {html.escape(n)}</div>" for n in sub.notices[-3:])
    return (
        f'<div class="aksf-ps">{badge} <b>{html.escape(sub.topic)}</b> on '
        f"<code>{html.escape(sub.connection)}</code> · {sub.received} events · "
        f'<span class="muted">replay id {replay} · {html.escape(sub.status)}</span>'
        f"{notices}</div>"
    )


def render_counts(sub: Viewed) -> str:
    if not sub.counts:
        return ""
    kinds = sorted({kind for _, kind in sub.counts})
    entities = sorted({entity for entity, _ in sub.counts})
    head = "".join(f"<th>{html.escape(kind)}</th>" for kind in kinds)
    rows = "".join(
        f"<tr><td>{html.escape(entity)}</td>"
        + "".join(f"<td>{sub.counts.get((entity, kind), 0)}</td>" for kind in kinds)
        + "</tr>"
        for entity in entities
    )
    return f'<div class="aksf-ps"><table><tr><th></th>{head}</tr>{rows}</table></div>'


def render_events(sub: Viewed, rows: int) -> str:
    events = sub.last(rows)[::-1]
    if not events:
        return '<div class="aksf-ps muted">No events yet; waiting for changes…</div>'
    body = "".join(
        "<tr>"
        f"<td>{e.commit_timestamp.strftime('%H:%M:%S') if e.commit_timestamp else ''}</td>"
        f"<td>{html.escape(e.change_type or 'EVENT')}</td>"
        f"<td>{html.escape(e.entity)}</td>"
        f"<td>{html.escape(', '.join(e.record_ids))}</td>"
        f"<td>{_summary(e)}</td>"
        "</tr>"
        for e in events
    )
    return (
        '<div class="aksf-ps"><table><tr><th>time (UTC)</th><th>change</th><th>entity</th>'
        f"<th>record</th><th>values</th></tr>{body}</table></div>"
    )


def _state(sub: Viewed) -> str:
    if sub.live:
        return "live"
    if sub.error is not None:
        return "failed"
    return "stopped" if sub.done else "connecting"


def _static_rows(sub: Viewed) -> list[tuple[str, str]]:
    rows = [
        ("Topic", sub.topic),
        ("Connection", sub.connection),
        ("State", f"{_state(sub)} ({sub.status})" if sub.status else _state(sub)),
        ("Events", f"{sub.received:,} received"),
    ]
    rows += [
        (f"{entity} {kind}", f"{count:,}") for (entity, kind), count in sorted(sub.counts.items())
    ]
    return rows


def static_text(sub: Viewed) -> str:
    """The subscription as plain text, for a reader without widgets."""
    lines = ["Salesforce Pub/Sub subscription (as shown when the cell ran)"]
    return "\n".join(lines + [f"  {label}: {value}" for label, value in _static_rows(sub)])


def static_html(sub: Viewed) -> str:
    """The subscription as a small HTML table, every value escaped."""
    body = Markup("").join(
        Markup("<tr><th>{}</th><td>{}</td></tr>").format(label, value)
        for label, value in _static_rows(sub)
    )
    return str(
        Markup(
            "<div class='aksf-ps aksf-static'><b>Salesforce Pub/Sub subscription</b> "
            "<span class='muted'>(as shown when the cell ran)</span><table>{}</table></div>"
        ).format(body)
    )


def _with_static(box: Any, sub: Viewed) -> Any:
    """`box`, whose display bundle also has `static_text`/`static_html` of `sub` (the
    same instance-level wrap as ``kernel._static.with_static``; ipywidgets 8's own bundle
    is the view and a repr as text)."""
    own = box._repr_mimebundle_

    def bundle(**kwargs: Any) -> Any:
        data = dict(own(**kwargs) or {})
        data["text/plain"] = static_text(sub)
        data["text/html"] = static_html(sub)
        return data

    box._repr_mimebundle_ = bundle
    return box


class SubscriptionView:
    """An ipywidgets view of one subscription (made by its ``_ipython_display_``)."""

    def __init__(self, subscription: Viewed, *, rows: int = 10, interval: float = 0.25):
        import ipywidgets as widgets

        self.subscription = subscription
        self.rows = rows
        self.interval = interval
        self.header = widgets.HTML()
        self.counts = widgets.HTML()
        self.table = widgets.HTML()
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", tooltip="Stop the subscription"
        )
        self.stop_button.on_click(self._stop)
        self.widget = widgets.VBox(
            [
                widgets.HTML(_STYLE),
                widgets.HBox([self.header, self.stop_button]),
                self.counts,
                self.table,
            ]
        )
        _with_static(self.widget, subscription)
        self._pending: asyncio.TimerHandle | None = None
        subscription.add_listener(self.schedule)
        self.render()

    def schedule(self) -> None:
        """Render soon (at most every `interval` seconds)."""
        if self._pending is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.render()
            return
        self._pending = loop.call_later(self.interval, self.render)

    def render(self) -> None:
        self._pending = None
        sub = self.subscription
        self.header.value = render_header(sub)
        self.counts.value = render_counts(sub)
        self.table.value = render_events(sub, self.rows)
        self.stop_button.disabled = sub.done
        if sub.done:
            sub.remove_listener(self.schedule)

    def _stop(self, _button: Any = None) -> None:
        self.stop_button.disabled = True
        self.subscription.stop()
