"""`aksf.explore("prod")`: browse objects and fields, preview rows, copy the SOQL.

    ex = aksf.explore("prod")        # the widget shows itself as the cell's result
    ex.filter("acc")                 # the object names matching, as the search box does
    ex.select_object("Account")      # its fields and record count
    ex.set_fields(["Id", "Name", "Industry"])
    ex.where, ex.limit = "Industry = 'Energy'", 50
    ex.preview()                     # the rows, also shown in the widget
    ex.soql, ex.python_code          # what to paste elsewhere

Everything the widgets do is a method or a property, so the explorer is drivable (and
tested) without a browser. The global describe is fetched once per session and searched
in Python over a precomputed list, and the object list shows at most `list_size` matches,
so an org with thousands of objects stays responsive. The SOQL and the Python line sit in
read-only text areas (selectable, copyable). No secret or token is ever in the widgets'
state.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..core._exceptions import SalesforceNotebookError

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["DEFAULT_LIST_SIZE", "Explorer"]

DEFAULT_LIST_SIZE = 200
DEFAULT_LIMIT = 20
MAX_LIMIT = 50_000


def _field_kind(field: dict[str, Any]) -> str:
    """``string``, or ``reference → User (Owner)`` for a lookup."""
    kind = str(field.get("type", ""))
    targets = field.get("referenceTo") or []
    if targets:
        kind += " → " + ", ".join(targets)
        if field.get("relationshipName"):
            kind += f" ({field['relationshipName']})"
    return kind


def _readonly_text(text: str, rows: int) -> str:
    # A real readonly <textarea>: selectable and copyable, unlike a disabled one.
    return (
        f"<textarea readonly rows='{rows}' spellcheck='false' "
        "style='width:100%;font-family:monospace;font-size:12px;resize:vertical'>"
        f"{html.escape(text)}</textarea>"
    )


class Explorer:
    """A widget over one connection's objects (see the module docstring)."""

    def __init__(
        self,
        name: str = "default",
        *,
        session: Session | None = None,
        list_size: int = DEFAULT_LIST_SIZE,
        **session_options: Any,
    ) -> None:
        self._owns_session = session is None
        if session is None:
            from ._session import Session

            session_options.setdefault("progress", False)
            session = Session(name, **session_options)
        self.name = name
        self.session = session
        self.list_size = max(1, list_size)
        #: The queryable objects of the global describe, in Salesforce's order.
        self.objects: list[dict[str, Any]] = [
            o for o in session.describe()["sobjects"] if o.get("queryable", True)
        ]
        # Lower-cased "name label" per object, built once: filtering is a substring scan.
        self._keys = [f"{o['name']} {o.get('label', '')}".lower() for o in self.objects]
        self._by_name = {o["name"].lower(): o for o in self.objects}
        self.matches: list[str] = []
        self.object_name: str | None = None
        self.fields: list[dict[str, Any]] = []
        self.record_count: int | None = None
        self.last_error: str = ""
        #: The rows of the last preview.
        self.frame: Any = None
        self._chosen: list[str] = []
        self._quiet = False  # set while the code changes widgets, to ignore their echo

        self.search = widgets.Text(
            placeholder=f"Filter {len(self.objects):,} objects by name or label…",
            continuous_update=True,
            layout=widgets.Layout(width="22em"),
        )
        self.object_list = widgets.Select(options=[], rows=14, layout=widgets.Layout(width="22em"))
        self.list_note = widgets.HTML()
        self.info = widgets.HTML("<i>Pick an object.</i>")
        self.field_list = widgets.SelectMultiple(
            options=[], rows=14, layout=widgets.Layout(width="40em")
        )
        self.where_box = widgets.Text(
            description="WHERE", placeholder="Industry = 'Energy'", layout={"width": "30em"}
        )
        self.limit_box = widgets.BoundedIntText(
            description="LIMIT", value=DEFAULT_LIMIT, min=1, max=MAX_LIMIT, layout={"width": "12em"}
        )
        self.preview_button = widgets.Button(description="Preview", button_style="primary")
        self.message = widgets.HTML()
        self.soql_box = widgets.HTML()
        self.python_box = widgets.HTML()
        self.output = widgets.Output()

        self.search.observe(self._on_search, names="value")
        self.object_list.observe(self._on_pick, names="value")
        self.field_list.observe(self._on_fields, names="value")
        self.where_box.observe(lambda _: self._update_code(), names="value")
        self.limit_box.observe(lambda _: self._update_code(), names="value")
        self.preview_button.on_click(lambda _: self.preview())

        header = widgets.HTML(
            f"<b>Salesforce explorer</b> · connection <code>{html.escape(name)}</code>"
        )
        self.widget = widgets.VBox(
            [
                header,
                widgets.HBox(
                    [
                        widgets.VBox([self.search, self.object_list, self.list_note]),
                        widgets.VBox([self.info, self.field_list]),
                    ]
                ),
                widgets.HBox([self.where_box, self.limit_box, self.preview_button]),
                self.message,
                widgets.HTML("<b>SOQL</b>"),
                self.soql_box,
                widgets.HTML("<b>Python</b>"),
                self.python_box,
                self.output,
            ]
        )
        self.widget.add_class("aksf-explorer")
        self.filter("")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def all_widgets(self) -> list[widgets.Widget]:
        """Every widget of the explorer, the outer box first."""
        found: list[widgets.Widget] = []
        todo: list[widgets.Widget] = [self.widget]
        while todo:
            widget = todo.pop()
            found.append(widget)
            todo.extend(getattr(widget, "children", ()))
        return found

    def close(self) -> None:
        """Close the widgets, and the session if the explorer opened it."""
        for widget in self.all_widgets():
            widget.close()
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Explorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Explorer {self.name!r}: {len(self.objects):,} objects, "
            f"on {self.object_name or '(none)'}>"
        )

    # -- objects ----------------------------------------------------------------------

    def filter(self, text: str) -> list[str]:
        """Every object name matching `text` (in its name or label, any case).

        Names starting with `text` come first. The list widget shows the first
        `list_size` of them, and says how many more there are.
        """
        needle = text.strip().lower()
        if not needle:
            found = [o["name"] for o in self.objects]
        else:
            first: list[str] = []
            rest: list[str] = []
            for obj, key in zip(self.objects, self._keys, strict=True):
                if needle in key:
                    (first if key.startswith(needle) else rest).append(obj["name"])
            found = first + rest
        self.matches = found
        shown = found[: self.list_size]
        self._quiet = True
        try:
            self.object_list.options = shown
            if self.object_name in shown:
                self.object_list.value = self.object_name
            if self.search.value != text:
                self.search.value = text  # called from Python: show the text in the box
        finally:
            self._quiet = False
        hidden = len(found) - len(shown)
        self.list_note.value = (
            f"<small>{len(shown):,} of {len(found):,} shown; type to narrow</small>"
            if hidden > 0
            else f"<small>{len(found):,} object{'' if len(found) == 1 else 's'}</small>"
        )
        return found

    def _on_search(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.filter(str(change["new"]))

    def _on_pick(self, change: dict[str, Any]) -> None:
        if self._quiet or not change["new"] or change["new"] == self.object_name:
            return
        try:
            self.select_object(str(change["new"]))
        except SalesforceNotebookError as error:
            self._show_error(error)

    def select_object(self, name: str) -> None:
        """Show the fields and record count of the object `name` (any case)."""
        entry = self._by_name.get(name.lower())
        if entry is None:
            raise ValueError(f"The org has no queryable object named {name!r}.")
        describe = self.session.describe(entry["name"])
        self.object_name = str(describe["name"])
        self.fields = list(describe.get("fields", []))
        try:
            # The name comes from Salesforce's own describe, never from typed text.
            soql = f"SELECT COUNT() FROM {self.object_name}"  # noqa: S608
            self.record_count = self.session.count(soql)
        except SalesforceNotebookError:
            self.record_count = None  # some objects refuse COUNT(); the rest still works
        self._quiet = True
        try:
            self.field_list.options = [
                (f"{f.get('label', f['name'])} · {f['name']} · {_field_kind(f)}", f["name"])
                for f in self.fields
            ]
            self._chosen = [f["name"] for f in self.fields if f["name"] in ("Id", "Name")]
            self.field_list.value = tuple(self._chosen)
            if self.object_name in self.object_list.options:
                self.object_list.value = self.object_name
        finally:
            self._quiet = False
        count = (
            "record count unavailable"
            if self.record_count is None
            else (f"{self.record_count:,} records")
        )
        self.info.value = (
            f"<b>{html.escape(str(describe.get('label', self.object_name)))}</b> "
            f"<code>{html.escape(self.object_name)}</code> · {count} · "
            f"{len(self.fields):,} fields"
        )
        self.message.value = ""
        self.output.clear_output()
        self._update_code()

    @property
    def field_table(self) -> list[dict[str, str]]:
        """The selected object's fields: label, name, type, relationship, references."""
        return [
            {
                "label": str(f.get("label", "")),
                "name": str(f["name"]),
                "type": str(f.get("type", "")),
                "relationship": str(f.get("relationshipName") or ""),
                "references": ", ".join(f.get("referenceTo") or []),
            }
            for f in self.fields
        ]

    # -- the query ----------------------------------------------------------------------

    def _on_fields(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        picked = list(change["new"])
        # Keep the order fields were picked in; newly ticked ones go last.
        self._chosen = [f for f in self._chosen if f in picked] + [
            f for f in picked if f not in self._chosen
        ]
        self._update_code()

    def set_fields(self, names: list[str]) -> None:
        """Tick exactly these fields (any case), in this order."""
        if not self.object_name:
            raise ValueError("Select an object first.")
        known = {f["name"].lower(): f["name"] for f in self.fields}
        unknown = [n for n in names if n.lower() not in known]
        if unknown:
            raise ValueError(f"{self.object_name} has no field {', '.join(unknown)}.")
        chosen = list(dict.fromkeys(known[n.lower()] for n in names))
        self._quiet = True
        try:
            self.field_list.value = tuple(chosen)
        finally:
            self._quiet = False
        self._chosen = chosen
        self._update_code()

    @property
    def selected_fields(self) -> list[str]:
        return list(self._chosen)

    @property
    def where(self) -> str:
        return str(self.where_box.value)

    @where.setter
    def where(self, value: str) -> None:
        self.where_box.value = value

    @property
    def limit(self) -> int:
        return int(self.limit_box.value)

    @limit.setter
    def limit(self, value: int) -> None:
        if not 1 <= value <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT:,}")
        self.limit_box.value = value

    @property
    def soql(self) -> str:
        """The query the widgets describe ("" before an object is picked)."""
        if not self.object_name:
            return ""
        fields = ", ".join(self._chosen) or "Id"
        # Field and object names come from describe; the WHERE text is the user's own SOQL.
        text = f"SELECT {fields} FROM {self.object_name}"  # noqa: S608
        where = " ".join(self.where.split())
        if where:
            text += f" WHERE {where}"
        return f"{text} LIMIT {self.limit}"

    @property
    def python_code(self) -> str:
        """Python that reproduces the preview in a notebook cell."""
        if not self.object_name:
            return ""
        return (
            "import ak_salesforce_nb as aksf\n\n"
            f"sf = aksf.session({self.name!r})\n"
            f"df = sf.query({self.soql!r})"
        )

    def _update_code(self) -> None:
        self.soql_box.value = _readonly_text(self.soql, 2)
        self.python_box.value = _readonly_text(self.python_code, 3)

    def _show_error(self, error: Exception) -> None:
        from ._magic import render_error
        from ._soql_params import BoundQuery

        # Like %%soql: Salesforce's reason, and a caret under the spot in the query.
        soql = self.soql
        self.last_error = render_error(error, BoundQuery(soql, soql, ()), soql)
        self.message.value = (
            "<pre style='color:#ba0517;white-space:pre-wrap;margin:0'>"
            f"{html.escape(self.last_error)}</pre>"
        )

    def preview(self) -> Any:
        """Run the query; show the rows in the widget and return them.

        On a Salesforce error (a bad WHERE, say) the message shows in the widget, is kept
        in `last_error`, and None is returned.
        """
        from IPython.display import display

        if not self.object_name:
            raise ValueError("Select an object first.")
        self.output.clear_output()
        self.last_error = ""
        try:
            frame = self.session.query(self.soql, progress=False)
        except SalesforceNotebookError as error:
            self._show_error(error)
            return None
        self.frame = frame
        self.message.value = f"<small>{len(frame):,} rows</small>"
        with self.output:
            display(frame)  # type: ignore[no-untyped-call]
        return frame
