"""The explorer's Reports tab: list the org's reports, pick one, preview it as a DataFrame.

    ex = aksf.explore("prod")
    ex.reports_tab.load()                 # the reports (SELECT … FROM Report), once
    ex.reports_tab.filter("pipeline")     # the names matching, as the filter box does
    ex.reports_tab.select("Open Pipeline")
    ex.reports_tab.preview()              # sf.report(...): the rows, also in the widget
    ex.reports_tab.python_code            # the line to paste in a cell

Like the rest of the explorer, every control is a method or property (drivable and
tested without a browser), every control has a visible name, and nothing secret sits in
a widget. The list is read when the tab is first shown, not when the explorer opens, so
an explorer that never looks at reports costs no report query.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..core._exceptions import SalesforceNotebookError

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["ReportsTab"]

_LABEL = {"description_width": "initial"}


class ReportsTab:
    """The Reports tab of one explorer (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: (Id, Name, DeveloperName, Format, FolderName) of every report, once loaded.
        self.reports: list[dict[str, Any]] = []
        self.loaded = False
        self.report_id: str | None = None
        self.report_name: str | None = None
        #: The rows of the last preview.
        self.frame: Any = None
        self.last_error = ""
        self.search = widgets.Text(
            description="Filter",
            placeholder="report name…",
            continuous_update=True,
            layout=widgets.Layout(width="22em"),
            style=_LABEL,
            tooltip="Filter reports by name, developer name or folder",
        )
        self.report_list = widgets.Select(
            description="Reports",
            options=[],
            rows=12,
            layout=widgets.Layout(width="36em"),
            style=_LABEL,
            tooltip="Reports",
        )
        self.preview_button = widgets.Button(
            description="Preview report",
            button_style="primary",
            tooltip="Run the report and show its rows",
        )
        self.info = widgets.HTML("<i>Reports load when this tab is first shown.</i>")
        self.python_box = widgets.HTML()
        self.output = widgets.Output()
        self.search.observe(lambda change: self.filter(change["new"]), names="value")
        self.report_list.observe(self._on_pick, names="value")
        self.preview_button.on_click(lambda _: self.preview())
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.search, self.preview_button]),
                self.report_list,
                self.info,
                widgets.HTML("<b>Python</b>"),
                self.python_box,
                self.output,
            ]
        )

    def load(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        """Read the org's reports (once, unless `refresh`) and list them."""
        if self.loaded and not refresh:
            return self.reports
        try:
            frame = self.session.reports()
        except SalesforceNotebookError as error:
            self._error(error)
            return []
        columns = ["Id", "Name", "DeveloperName", "Format", "FolderName"]
        self.reports = [
            {c: (None if _missing(row.get(c)) else row.get(c)) for c in columns}
            for row in frame.to_dict("records")
        ]
        self.loaded = True
        self.info.value = f"<small>{len(self.reports):,} reports</small>"
        self.filter(self.search.value)
        return self.reports

    def filter(self, text: str) -> list[str]:
        """The report names matching `text` (name, developer name or folder, any case)."""
        wanted = text.strip().lower()
        shown = [
            r
            for r in self.reports
            if not wanted
            or wanted
            in " ".join(
                str(r.get(k) or "") for k in ("Name", "DeveloperName", "FolderName")
            ).lower()
        ]
        options = [
            (f"{r['Name']} · {r.get('Format') or '?'} · {r.get('FolderName') or '-'}", r["Id"])
            for r in shown
        ]
        current = self.report_list.value
        self.report_list.options = options
        if current in {value for _, value in options}:
            self.report_list.value = current
        return [str(r["Name"]) for r in shown]

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.select(change["new"])

    def select(self, report: str) -> None:
        """Pick a report by Id, name or developer name."""
        self.load()
        for row in self.reports:
            if report in (row["Id"], row["Name"], row["DeveloperName"]):
                self.report_id, self.report_name = str(row["Id"]), str(row["Name"])
                break
        else:
            raise ValueError(f"No report {report!r} in the list; sf.reports() shows them all.")
        if self.report_list.value != self.report_id and self.report_id in {
            value for _, value in self.report_list.options
        }:
            self.report_list.value = self.report_id
        self.python_box.value = (
            "<textarea readonly rows='2' spellcheck='false' "
            "aria-label='Python code for the report' "
            "style='width:100%;font-family:monospace;font-size:12px;resize:vertical'>"
            f"{html.escape(self.python_code)}</textarea>"
        )

    @property
    def python_code(self) -> str:
        """The cell line that reads the picked report."""
        return f"df = sf.report({self.report_name!r})" if self.report_name else ""

    def preview(self, **options: Any) -> Any:
        """Run the picked report (`sf.report` options allowed); show and return its rows.
        A Salesforce error shows in the tab, is kept in `last_error`; None is returned."""
        from IPython.display import display

        if not self.report_id:
            raise ValueError("Pick a report first.")
        self.output.clear_output()
        self.last_error = ""
        options.setdefault("quiet", True)
        try:
            frame = self.session.report(self.report_id, **options)
        except SalesforceNotebookError as error:
            self._error(error)
            return None
        self.frame = frame
        note = frame.attrs.get("report", {}).get("note", f"{len(frame):,} rows")
        self.info.value = f"<small>{html.escape(note)}</small>"
        with self.output:
            display(frame)  # type: ignore[no-untyped-call]
        return frame

    def _error(self, error: Exception) -> None:
        self.last_error = f"{type(error).__name__}: {error}"
        self.info.value = (
            "<pre style='color:#ba0517;white-space:pre-wrap;margin:0'>"
            f"{html.escape(self.last_error)}</pre>"
        )


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, list | tuple) and bool(pd.isna(value)))
