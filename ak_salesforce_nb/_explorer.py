"""`aksf.explore("prod")`: browse objects and fields, preview rows, copy the SOQL.

Everything the widgets do is a method, so the explorer is drivable without a browser:
`select_object("Account")`, `set_fields([...])`, `where`, `limit`, `preview()`, and the
`soql` and `python_code` properties. The global describe is fetched once and filtered in
Python, so an org with thousands of objects stays responsive.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from ._exceptions import SalesforceNotebookError
from ._session import Session

__all__ = ["Explorer"]

MAX_LISTED = 300


class Explorer:
    def __init__(self, name: str = "default", *, session: Session | None = None) -> None:
        self.name = name
        self.session = session or Session(name, progress=False)
        self.objects: list[dict[str, Any]] = [
            o for o in self.session.describe()["sobjects"] if o.get("queryable", True)
        ]
        self.object_name: str | None = None
        self.fields: list[dict[str, Any]] = []
        self.record_count: int | None = None

        self.search = widgets.Text(placeholder="Filter objects (name or label)…")
        self.object_list = widgets.Select(options=[], rows=12, layout=widgets.Layout(width="22em"))
        self.info = widgets.HTML()
        self.field_list = widgets.SelectMultiple(
            options=[], rows=12, layout=widgets.Layout(width="34em")
        )
        self.where_box = widgets.Text(description="WHERE", placeholder="Industry = 'Energy'")
        self.limit_box = widgets.BoundedIntText(description="LIMIT", value=20, min=1, max=2000)
        self.preview_button = widgets.Button(description="Preview", button_style="primary")
        self.soql_box = widgets.Textarea(description="SOQL", layout=widgets.Layout(width="56em"))
        self.python_box = widgets.Textarea(
            description="Python", layout=widgets.Layout(width="56em")
        )
        self.output = widgets.Output()
        self.message = widgets.HTML()

        self.search.observe(lambda _: self.filter(self.search.value), names="value")
        self.object_list.observe(self._on_pick, names="value")
        self.field_list.observe(lambda _: self._update_code(), names="value")
        self.where_box.observe(lambda _: self._update_code(), names="value")
        self.limit_box.observe(lambda _: self._update_code(), names="value")
        self.preview_button.on_click(lambda _: self.preview())
        self.widget = widgets.VBox(
            [
                widgets.HBox(
                    [
                        widgets.VBox([self.search, self.object_list]),
                        widgets.VBox([self.info, self.field_list]),
                    ]
                ),
                widgets.HBox([self.where_box, self.limit_box, self.preview_button]),
                self.message,
                self.soql_box,
                self.python_box,
                self.output,
            ]
        )
        self.widget.add_class("aksf-explorer")
        self.filter("")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"<Explorer {self.name!r} {len(self.objects)} objects, on {self.object_name!r}>"

    # -- objects -----------------------------------------------------------------------

    def filter(self, text: str) -> list[str]:
        """The object names matching `text` (name or label); at most MAX_LISTED shown."""
        needle = text.strip().lower()
        names = [
            o["name"]
            for o in self.objects
            if not needle
            or needle in o["name"].lower()
            or needle in str(o.get("label", "")).lower()
        ]
        self.object_list.options = names[:MAX_LISTED]
        hidden = len(names) - MAX_LISTED
        self.message.value = f"<i>{hidden} more match; type to narrow.</i>" if hidden > 0 else ""
        return names

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.select_object(str(change["new"]))

    def select_object(self, name: str) -> None:
        """Show `name`'s fields and record count."""
        describe = self.session.describe(name)
        self.object_name = describe["name"]
        self.fields = list(describe["fields"])
        try:
            # object_name comes from Salesforce's own describe, not from typed input.
            self.record_count = self.session.count(f"SELECT COUNT() FROM {self.object_name}")  # noqa: S608
        except SalesforceNotebookError:
            self.record_count = None
        options = []
        for field in self.fields:
            kind = field["type"]
            if field.get("referenceTo"):
                kind += " → " + ", ".join(field["referenceTo"])
            options.append((f"{field['label']} ({field['name']}, {kind})", field["name"]))
        self.field_list.options = options
        default = [f["name"] for f in self.fields if f["name"] in ("Id", "Name")]
        self.field_list.value = tuple(default)
        count = "?" if self.record_count is None else f"{self.record_count:,}"
        self.info.value = (
            f"<b>{html.escape(describe.get('label', name))}</b> "
            f"(<code>{html.escape(self.object_name or name)}</code>) · {count} records · "
            f"{len(self.fields)} fields"
        )
        if (
            self.object_list.value != self.object_name
            and self.object_name in self.object_list.options
        ):
            self.object_list.value = self.object_name
        self._update_code()

    # -- the query -----------------------------------------------------------------

    def set_fields(self, names: list[str]) -> None:
        known = {f["name"] for f in self.fields}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{self.object_name} has no field {', '.join(unknown)}")
        self.field_list.value = tuple(names)
        self._update_code()

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
        self.limit_box.value = value

    @property
    def soql(self) -> str:
        if not self.object_name:
            return ""
        fields = ", ".join(self.field_list.value) or "Id"
        # Field and object names come from describe; the WHERE text is the user's own SOQL.
        text = f"SELECT {fields} FROM {self.object_name}"  # noqa: S608
        if self.where.strip():
            text += f" WHERE {self.where.strip()}"
        return text + f" LIMIT {self.limit}"

    @property
    def python_code(self) -> str:
        return (
            "import ak_salesforce_nb as aksf\n"
            f"df = aksf.session({self.name!r}).query({self.soql!r})"
        )

    def _update_code(self) -> None:
        self.soql_box.value = self.soql
        self.python_box.value = self.python_code

    def preview(self) -> Any:
        """Run the query; show and return the rows (None, with a message, on error)."""
        from IPython.display import display

        self.output.clear_output()
        try:
            frame = self.session.query(self.soql, progress=False)
        except SalesforceNotebookError as exc:
            self.message.value = (
                f"<pre style='color:#ba0517;white-space:pre-wrap'>{html.escape(str(exc))}</pre>"
            )
            return None
        self.message.value = f"{len(frame):,} rows"
        with self.output:
            display(frame)  # type: ignore[no-untyped-call]
        return frame
