"""The static twin of every widget output: plain text and HTML beside the live view.

A widget output saves only a pointer to the widget's model
(``application/vnd.jupyter.widget-view+json``). Where no widget manager runs (GitHub,
nbviewer, a notebook whose widget state was scrubbed, VS Code with widgets off) a reader
sees "Loading widget…" or nothing. ipywidgets 8 builds a widget's display bundle in
``Widget._repr_mimebundle_`` from the view pointer and a ``text/plain`` that is just the
widget's ``repr``; frontends with a widget manager pick the view and ignore the rest, and
everything else (nbconvert's ``WidgetsDataTypeFilter``, GitHub) falls back to
``text/html`` then ``text/plain``. So a widget that adds both, saying which connection,
in which state, for which user and org, reads well everywhere and changes nothing live.

The API, for a view that shows a connection (the connect form, an explorer):

    from ._static import connection_summary, with_static

    self.widget = with_static(widgets.VBox(children), lambda: connection_summary(
        self.store.find_connection(self.name), self.name, title="Salesforce connection"))

``describe`` runs each time the widget is displayed (so a re-run cell shows the state of
that moment), never while it is only updated. It returns a `StaticSummary`: every field is
escaped (markupsafe) and none may hold a secret; `connection_summary` takes only what a
`ConnectionRecord` shows anyway (name, state, user, org, instance). `with_static` works
on any widget and returns it unchanged in type (no subclass: the frontend sees the same
view); for a one-off display `static_bundle(widget, summary)` gives the merged bundle to
pass to ``display(bundle, raw=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets as widgets
from markupsafe import Markup

from ._cards import shown_state
from ._theme import BORDER

if TYPE_CHECKING:
    from ..core._store import ConnectionRecord

__all__ = [
    "WIDGET_VIEW_MIMETYPE",
    "Describe",
    "StaticSummary",
    "connection_summary",
    "static_bundle",
    "with_static",
]

#: The mimetype of a widget's view in a display bundle (ipywidgets 8, protocol 2).
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class StaticSummary:
    """What a reader without widgets sees of a widget: a titled card.

    `title` says what the widget is ("Salesforce connection"), `name` the connection,
    `state` its state in words; `user` and `org` who is signed in where; `sentence` one
    line of context; `rows` further (label, value) pairs. Empty fields are left out. Never
    put a secret in any field: they are saved in the notebook. `inline`: one line rather
    than a card (a progress bar's count).
    """

    title: str
    name: str = ""
    state: str = ""
    user: str = ""
    org: str = ""
    sentence: str = ""
    rows: tuple[tuple[str, str], ...] = ()
    inline: bool = False

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [("Connection", self.name), ("State", self.state)]
        pairs += [("User", self.user), ("Org", self.org), *self.rows]
        return [(label, value) for label, value in pairs if value]

    def text(self) -> str:
        """The ``text/plain`` form: the title, then ``Label: value`` lines."""
        if self.inline:
            parts = [value for _, value in self._pairs()] + [self.sentence]
            return f"{self.title}: " + " · ".join(p for p in parts if p)
        lines = [self.title]
        lines += [f"  {label}: {value}" for label, value in self._pairs()]
        if self.sentence:
            lines.append(f"  {self.sentence}")
        return "\n".join(lines)

    def html(self) -> str:
        """The ``text/html`` form: a small bordered card, every value escaped."""
        if self.inline:
            return str(Markup("<div class='aksf-static'>{}</div>").format(self.text()))
        body = Markup("").join(
            Markup(
                "<tr><th style='text-align:left;padding-right:1em;font-weight:500'>{}</th>"
                "<td>{}</td></tr>"
            ).format(label, value)
            for label, value in self._pairs()
        )
        sentence = Markup("<div style='margin:.3em 0'>{}</div>").format(self.sentence)
        return str(
            Markup(
                "<div class='aksf-static' style='border:{};border-radius:6px;"
                "padding:.6em .9em;display:inline-block;font-size:13px'>"
                "<div><b>{}</b></div>{}<table>{}</table></div>"
            ).format(BORDER, self.title, sentence if self.sentence else "", body)
        )


Describe = Callable[[], StaticSummary]
W = TypeVar("W", bound=widgets.Widget)


def _org(record: ConnectionRecord) -> str:
    return " · ".join(x for x in (record.organization_name, record.organization_id) if x)


def connection_summary(
    record: ConnectionRecord | None,
    name: str,
    *,
    title: str = "Salesforce connection",
    rows: tuple[tuple[str, str], ...] = (),
) -> StaticSummary:
    """The summary of connection `name` as `record` (``None``: not in the store) shows
    it: the state label of its badge (with the last check's age), user, org, instance and
    login host; the sentence under the badge. Nothing secret is in a record."""
    shown = shown_state(record)
    if record is None:
        return StaticSummary(
            title, name=name, state=shown.label, sentence=shown.sentence, rows=rows
        )
    more = (("Instance", record.instance_url), ("Login host", record.login_url), *rows)
    return StaticSummary(
        title,
        name=name,
        state=shown.label,
        user=record.username,
        org=_org(record),
        sentence=shown.sentence,
        rows=tuple(more),
    )


def static_bundle(widget: widgets.Widget, summary: StaticSummary) -> dict[str, Any]:
    """`widget`'s own display bundle with `summary` as its ``text/plain`` and
    ``text/html`` (the widget's ``repr`` is no use to a reader)."""
    own = getattr(widget, "_repr_mimebundle_", None)  # None once the widget is closed
    bundle = own() if callable(own) else {"text/plain": repr(widget)}
    merged = _merged(bundle, summary)
    return dict(merged[0] if isinstance(merged, tuple) else merged)


def _merged(bundle: Mapping[str, Any] | tuple[Any, ...] | None, summary: StaticSummary) -> Any:
    metadata: Any = None
    if isinstance(bundle, tuple):  # (data, metadata), as a formatter may return
        bundle, metadata = bundle
    data = dict(bundle or {})
    data["text/plain"] = summary.text()
    data["text/html"] = summary.html()
    return (data, metadata) if metadata is not None else data


def with_static(widget: W, describe: Describe) -> W:
    """`widget`, whose display bundle now also has the static ``text/plain`` and
    ``text/html`` of ``describe()`` (called at each display, never while the widget is
    only updated). Returns the same widget (its class, view and model are unchanged).

    The bundle is wrapped on the instance, the way ipywidgets itself sets
    ``_repr_mimebundle_ = None`` on a closed widget (which then shows as its repr, as
    before): no subclass, so any widget type works and nothing in the frontend changes.
    """
    own = widget._repr_mimebundle_

    def bundle(**kwargs: Any) -> Any:
        data = own(**kwargs)
        try:
            summary = describe()
        except Exception:  # the live view must show even if its summary cannot be made
            return data
        return _merged(data, summary)

    widget._repr_mimebundle_ = bundle
    return widget
