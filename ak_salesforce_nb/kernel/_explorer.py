"""`aksf.explore("prod")`: browse objects and fields, preview rows, copy the SOQL.

    ex = aksf.explore("prod")        # the widget shows itself as the cell's result
    ex.filter("acc")                 # the object names matching, as the search box does
    ex.select_object("Account")      # its fields and record count
    ex.set_fields(["Id", "Name", "Industry"])
    ex.where, ex.limit = "Industry = 'Energy'", 50
    ex.preview()                     # the rows, also shown in the widget
    ex.soql, ex.python_code          # what to paste elsewhere
    ex.edit()                        # the previewed rows as editable cells
    ex.set_cell(0, "Industry", "Energy")
    ex.diff                          # Id, field, old, new of every change
    ex.write_back()                  # sf.update of the changes: the result frame

Everything the widgets do is a method or a property, so the explorer is drivable (and
tested) without a browser. The global describe is fetched once per session and searched
in Python over a precomputed list, and the object list shows at most `list_size` matches,
so an org with thousands of objects stays responsive. The SOQL and the Python line sit in
read-only text areas (selectable, copyable). No secret or token is ever in the widgets'
state.

Edit mode turns the previewed rows (at most `MAX_EDIT_ROWS`, the Id selected) into a grid
of text cells, one per updateable field; a changed cell is part of the diff, and Write
back sends only the changed fields of the changed rows (`Session.update`, so the result
frame is the same one every write returns). Every control has an accessible name (its
visible description, or a tooltip that becomes the control's title), for screen readers.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..core._exceptions import SalesforceNotebookError
from ._static import StaticSummary, connection_summary, with_static
from ._theme import TAB_STYLE

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["DEFAULT_LIST_SIZE", "Explorer"]

DEFAULT_LIST_SIZE = 200
DEFAULT_LIMIT = 20
MAX_LIMIT = 50_000
# A visible label as wide as its word: a control named by its tooltip alone is named for
# screen readers only (axe: label-title-only).
_LABEL = {"description_width": "initial"}
#: Rows at most that edit mode turns into cells.
MAX_EDIT_ROWS = 200


def _field_kind(field: dict[str, Any]) -> str:
    """``string``, or ``reference → User (Owner)`` for a lookup."""
    kind = str(field.get("type", ""))
    targets = field.get("referenceTo") or []
    if targets:
        kind += " → " + ", ".join(targets)
        if field.get("relationshipName"):
            kind += f" ({field['relationshipName']})"
    return kind


def _readonly_text(text: str, rows: int, label: str) -> str:
    # A real readonly <textarea>: selectable and copyable, unlike a disabled one; named.
    return (
        f"<textarea readonly rows='{rows}' spellcheck='false' "
        f"aria-label='{html.escape(label, quote=True)}' "
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
            description="Filter",
            placeholder=f"{len(self.objects):,} objects, by name or label…",
            continuous_update=True,
            layout=widgets.Layout(width="22em"),
            style=_LABEL,
            tooltip="Filter objects by name or label",
        )
        self.object_list = widgets.Select(
            description="Objects",
            options=[],
            rows=14,
            layout=widgets.Layout(width="22em"),
            style=_LABEL,
            tooltip="Objects",
        )
        self.list_note = widgets.HTML()
        self.info = widgets.HTML("<i>Pick an object.</i>")
        self.field_list = widgets.SelectMultiple(
            description="Fields",
            options=[],
            rows=14,
            layout=widgets.Layout(width="40em"),
            style=_LABEL,
            tooltip="Fields to select",
        )
        self.where_box = widgets.Text(
            description="WHERE", placeholder="Industry = 'Energy'", layout={"width": "30em"}
        )
        self.limit_box = widgets.BoundedIntText(
            description="LIMIT", value=DEFAULT_LIMIT, min=1, max=MAX_LIMIT, layout={"width": "12em"}
        )
        self.where_box.tooltip = "WHERE clause of the query"
        self.limit_box.tooltip = "Rows at most (LIMIT)"
        self.preview_button = widgets.Button(
            description="Preview", button_style="primary", tooltip="Run the query and show the rows"
        )
        # Edit mode: the previewed rows as cells, their diff, and writing them back.
        self.edit_button = widgets.ToggleButton(
            description="Edit rows", value=False, tooltip="Edit the previewed rows"
        )
        self.diff_button = widgets.Button(
            description="Show changes", tooltip="Show the changed cells"
        )
        self.write_button = widgets.Button(
            description="Write back",
            button_style="warning",
            tooltip="Update the changed records in Salesforce",
        )
        self.discard_button = widgets.Button(description="Discard", tooltip="Forget the changes")
        self.edit_tools = widgets.HBox([self.diff_button, self.write_button, self.discard_button])
        self.edit_tools.layout.display = "none"
        self.edit_grid = widgets.GridBox([])
        self.diff_box = widgets.HTML()
        self.edit_output = widgets.Output()
        #: The edit grid's cells: (row, field) → its Text widget.
        self.cells: dict[tuple[int, str], widgets.Text] = {}
        #: The last write-back's result frame.
        self.write_result: Any = None
        self._original: list[dict[str, Any]] = []
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
        self.edit_button.observe(self._on_edit_toggle, names="value")
        self.diff_button.on_click(lambda _: self._show_diff())
        self.write_button.on_click(lambda _: self._on_write())
        self.discard_button.on_click(lambda _: self.discard())

        header = widgets.HTML(
            f"<b>Salesforce explorer</b> · connection <code>{html.escape(name)}</code>" + TAB_STYLE
        )
        # The Reports tab (kernel/_report_tab): its list is read when first shown.
        from ._report_tab import ReportsTab

        self.reports_tab = ReportsTab(session)
        objects_tab = widgets.VBox(
            [
                widgets.HBox(
                    [
                        widgets.VBox([self.search, self.object_list, self.list_note]),
                        widgets.VBox([self.info, self.field_list]),
                    ]
                ),
                widgets.HBox(
                    [self.where_box, self.limit_box, self.preview_button, self.edit_button]
                ),
                self.message,
                self.edit_tools,
                self.edit_grid,
                self.diff_box,
                self.edit_output,
                widgets.HTML("<b>SOQL</b>"),
                self.soql_box,
                widgets.HTML("<b>Python</b>"),
                self.python_box,
                self.output,
            ]
        )
        self.tabs = widgets.Tab(
            [objects_tab, self.reports_tab.widget], titles=("Objects", "Reports")
        )
        self.tabs.observe(
            lambda change: self.reports_tab.load() if change["new"] == 1 else None,
            names="selected_index",
        )
        self.widget = widgets.VBox([header, self.tabs])
        with_static(self.widget, self.static_summary)
        self.widget.add_class("aksf-explorer")
        self.filter("")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def static_summary(self) -> StaticSummary:
        """What the saved notebook shows where widgets are not: the connection (state,
        user, org), the objects, and the query as it stood when the explorer was shown."""
        try:
            record = self.session.connection_record()
        except SalesforceNotebookError:  # a store gone bad: what the session started with
            record = self.session.connection
        rows = [("Objects", f"{len(self.objects):,} queryable")]
        if self.object_name:
            rows += [("Object", self.object_name), ("SOQL", self.soql)]
        return connection_summary(record, self.name, title="Salesforce explorer", rows=tuple(rows))

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
        self.soql_box.value = _readonly_text(self.soql, 2, "SOQL query")
        self.python_box.value = _readonly_text(self.python_code, 3, "Python code")

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
        if self.cells:
            self.discard()  # new rows: the edits of the old ones do not apply
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

    # -- edit mode ------------------------------------------------------------------------

    def _editable(self) -> list[str]:
        fields = {f["name"]: f for f in self.fields}
        return [
            name for name in self._chosen if name != "Id" and fields.get(name, {}).get("updateable")
        ]

    def edit(self) -> None:
        """Turn the previewed rows into editable cells (the Id must be selected)."""
        if self.frame is None:
            raise ValueError("Preview some rows first.")
        if "Id" not in self.frame.columns:
            raise ValueError("Select the Id field: edits are written back by Id.")
        if len(self.frame) > MAX_EDIT_ROWS:
            raise ValueError(f"Edit mode takes at most {MAX_EDIT_ROWS} rows; lower the LIMIT.")
        editable = self._editable()
        self._original = []
        self.cells = {}
        children: list[widgets.Widget] = [widgets.HTML("<b>Id</b>")] + [
            widgets.HTML(f"<b>{html.escape(name)}</b>") for name in editable
        ]
        for row, record in enumerate(self.frame.to_dict("records")):
            record_id = str(record["Id"])
            self._original.append({"Id": record_id, **{n: record.get(n) for n in editable}})
            children.append(widgets.HTML(f"<code>{html.escape(record_id)}</code>"))
            for name in editable:
                value = record.get(name)
                text = "" if value is None or value != value else str(value)
                cell = widgets.Text(
                    value=text,
                    tooltip=f"{name} of {record_id}",
                    layout=widgets.Layout(width="auto"),
                )
                cell.observe(lambda _: self._mark_changes(), names="value")
                self.cells[(row, name)] = cell
                children.append(cell)
        self.edit_grid.children = tuple(children)
        self.edit_grid.layout = widgets.Layout(
            grid_template_columns=f"repeat({len(editable) + 1}, minmax(8em, 1fr))"
        )
        self.edit_tools.layout.display = "flex"
        self.diff_box.value = ""
        if not self.edit_button.value:
            self._quiet = True
            try:
                self.edit_button.value = True
            finally:
                self._quiet = False

    def _on_edit_toggle(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        try:
            if change["new"]:
                self.edit()
            else:
                self.discard()
        except ValueError as error:
            self.message.value = f"<small>{html.escape(str(error))}</small>"
            self._quiet = True
            try:
                self.edit_button.value = False
            finally:
                self._quiet = False

    def set_cell(self, row: int, field: str, value: Any) -> None:
        """Type `value` into the cell of `field` on row `row` (as a person would)."""
        cell = self.cells.get((row, field))
        if cell is None:
            raise KeyError(f"No editable cell for {field!r} on row {row}.")
        cell.value = "" if value is None else str(value)

    def _changed(self) -> list[tuple[int, str, Any, str]]:
        found = []
        for (row, name), cell in self.cells.items():
            old = self._original[row][name]
            before = "" if old is None or old != old else str(old)
            if cell.value != before:
                found.append((row, name, old, cell.value))
        return found

    @property
    def diff(self) -> Any:
        """Every changed cell: Id, field, old value, new text."""
        import pandas as pd

        rows = [
            {"Id": self._original[row]["Id"], "field": name, "old": old, "new": new}
            for row, name, old, new in self._changed()
        ]
        return pd.DataFrame(rows, columns=["Id", "field", "old", "new"])

    @property
    def changes(self) -> list[dict[str, Any]]:
        """The records to update: each changed row's Id and its changed fields only
        (an emptied cell sets the field to null)."""
        by_row: dict[int, dict[str, Any]] = {}
        for row, name, _old, new in self._changed():
            by_row.setdefault(row, {"Id": self._original[row]["Id"]})[name] = new or None
        return [by_row[row] for row in sorted(by_row)]

    def _mark_changes(self) -> None:
        count = len(self._changed())
        self.write_button.description = f"Write back ({count})" if count else "Write back"

    def _show_diff(self) -> None:
        diff = self.diff
        if diff.empty:
            self.diff_box.value = "<small>No changes.</small>"
            return
        lines = "".join(
            f"<tr><td><code>{html.escape(str(r.Id))}</code></td><td>{html.escape(str(r.field))}"
            f"</td><td><del>{html.escape(str(r.old))}</del></td>"
            f"<td><ins>{html.escape(str(r.new))}</ins></td></tr>"
            for r in diff.itertuples()
        )
        self.diff_box.value = (
            "<table aria-label='Changes to write back'><thead><tr><th>Id</th><th>Field</th>"
            f"<th>Old</th><th>New</th></tr></thead><tbody>{lines}</tbody></table>"
        )

    def write_back(self, **options: Any) -> Any:
        """Update the changed records (`Session.update`); the result frame, also shown.
        Rows written become the new originals; failed rows keep their edits."""
        from IPython.display import display

        if not self.object_name:
            raise ValueError("Select an object first.")
        records = self.changes
        if not records:
            self.diff_box.value = "<small>No changes to write.</small>"
            return None
        options.setdefault("progress", False)
        result = self.session.update(self.object_name, records, **options)
        self.write_result = result
        written = {r["Id"] for r, ok in zip(records, result.success, strict=True) if ok}
        for (row, name), cell in self.cells.items():
            if self._original[row]["Id"] in written:
                self._original[row][name] = cell.value or None
        failed = int((~result.success).sum())
        self.message.value = (
            f"<small>{len(records) - failed:,} of {len(records):,} records updated"
            + (f"; {failed:,} failed (see the result below)" if failed else "")
            + "</small>"
        )
        self._mark_changes()
        self.edit_output.clear_output()
        with self.edit_output:
            display(result)  # type: ignore[no-untyped-call]
        return result

    def _on_write(self) -> None:
        try:
            self.write_back()
        except SalesforceNotebookError as error:
            self._show_error(error)

    def discard(self) -> None:
        """Leave edit mode, forgetting unsaved changes."""
        self.cells = {}
        self._original = []
        self.edit_grid.children = ()
        self.edit_tools.layout.display = "none"
        self.diff_box.value = ""
        self._mark_changes()
        if self.edit_button.value:
            self._quiet = True
            try:
                self.edit_button.value = False
            finally:
                self._quiet = False

    def controls(self) -> list[widgets.Widget]:
        """The widgets a person operates (inputs, lists, buttons)."""
        kinds = (
            widgets.Text,
            widgets.Select,
            widgets.SelectMultiple,
            widgets.BoundedIntText,
            widgets.Button,
            widgets.ToggleButton,
        )
        return [w for w in self.all_widgets() if isinstance(w, kinds)]
