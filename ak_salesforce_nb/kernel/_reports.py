"""`sf.report(...)` and `sf.reports()`: Salesforce reports as DataFrames, past 2,000 rows.

    sf.reports()                                   # Id, Name, DeveloperName, FolderName, Format…
    df = sf.report("All Contacts")                 # by name, developer name or Id
    df = sf.report("Open Pipeline", filters=[("AMOUNT", ">", 10_000), ("Stage", "=", "Won")])
    totals = sf.report("Opportunities by Stage", aggregates=True)
    df.attrs["report"]["note"]                     # how the rows were read

A run goes through the Reports and Dashboards REST API: ``analytics/reports/{id}``
(synchronous; GET with the saved metadata, POST with runtime filters) or, with
``mode="async"``, an instance (``POST …/instances``, then ``GET …/instances/{iid}``
until ``Success``). Every format is flattened by `_report_frames`: one row per detail
row, the groupings (down, then across) as leading columns, columns named by their labels.

**More than 2,000 rows.** Salesforce answers at most 2,000 detail rows per run and says
``allData: false`` when it cut. The report is then read again as a tabular run (its
grouping columns as detail columns) sorted by a *split column*: the record Id column of
the report type where there is one, else a date-time or date column, or ``split_on=``
(a column the org refuses to filter or sort that way: the next one, up to three).
Each run asks for the values after the last one read (a runtime ``greaterThan`` filter,
ANDed to the report's own filters and logic). On a column other than the record Id,
rows sharing the last value of a cut run are read by an ``equals`` run of their own,
and rows where the column is empty by a final one. The rows read are checked against
the report's record count; the result's ``attrs["report"]`` (and a note shown under the
cell) says how many runs it took and on which column, or, when the rows could not all
be read, that the frame is partial (with a `PartialReportWarning`). Aggregates
(``aggregates=True``) always come from one run: Salesforce computes them over every
row, cut or not.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import re
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..core._exceptions import (
    PartialReportWarning,
    ReportError,
    SalesforceError,
)
from ._report_frames import (
    ReportShape,
    cell_value,
    display_names,
    flatten_aggregates,
    flatten_details,
)

if TYPE_CHECKING:
    import pandas as pd


class Session(Protocol):
    """What the report functions use of a `Session` (a Protocol: `_session` imports this
    module, so this module does not import it back)."""

    def get(self, path: str, **kwargs: Any) -> Any: ...

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any: ...

    def query(self, soql: str, *, progress: bool | None = None) -> Any: ...

    def query_records(self, soql: str) -> Iterable[dict[str, Any]]: ...


__all__ = [
    "DETAIL_ROW_LIMIT",
    "PartialReportWarning",
    "ReportError",
    "ReportFilter",
    "list_reports",
    "record_id_column",
    "resolve_report",
    "run_report",
    "split_candidates",
]

#: Detail rows Salesforce answers per run at most.
DETAIL_ROW_LIMIT = 2000
#: Split columns tried at most when the org refuses to range over one.
MAX_SPLIT_TRIES = 3
ReportMode = Literal["sync", "async"]
#: A runtime filter: ``(column, operator, value)`` or a Reports API filter dict.
ReportFilter = tuple[str, str, Any] | Mapping[str, Any]

_REPORT_ID = re.compile(r"^00O[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")
_OPERATORS = {
    "=": "equals",
    "==": "equals",
    "in": "equals",
    "equals": "equals",
    "!=": "notEqual",
    "<>": "notEqual",
    "not in": "notEqual",
    "notequal": "notEqual",
    "<": "lessThan",
    "lessthan": "lessThan",
    ">": "greaterThan",
    "greaterthan": "greaterThan",
    "<=": "lessOrEqual",
    "lessorequal": "lessOrEqual",
    ">=": "greaterOrEqual",
    "greaterorequal": "greaterOrEqual",
    "contains": "contains",
    "not contains": "notContain",
    "notcontain": "notContain",
    "startswith": "startsWith",
    "starts with": "startsWith",
    "includes": "includes",
    "excludes": "excludes",
}


# -- finding reports --------------------------------------------------------------------


def _soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _like_text(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return "'%" + escaped.replace("%", "\\%").replace("_", "\\_") + "%'"


def list_reports(session: Session, search: str | None = None, *, recent: bool = False) -> Any:
    """The org's reports as a DataFrame (``SELECT … FROM Report``), `search` matching
    names and developer names; ``recent=True``: the Reports API's list of the reports
    the user viewed recently (``GET analytics/reports``) instead."""
    import pandas as pd

    if recent:
        listed = session.get("analytics/reports") or []
        return pd.DataFrame(
            [{"Id": r.get("id"), "Name": r.get("name"), "url": r.get("url")} for r in listed],
            columns=["Id", "Name", "url"],
        )
    soql = (
        "SELECT Id, Name, DeveloperName, FolderName, Format, Description, LastRunDate FROM Report"
    )
    if search:
        pattern = _like_text(search)
        soql += f" WHERE Name LIKE {pattern} OR DeveloperName LIKE {pattern}"
    return session.query(soql + " ORDER BY FolderName, Name", progress=False)


def _report_rows(session: Session, where: str = "") -> list[dict[str, Any]]:
    soql = "SELECT Id, Name, DeveloperName, FolderName FROM Report" + where  # noqa: S608
    return list(session.query_records(soql))


def resolve_report(session: Session, report: str) -> str:
    """The Id of `report`: an Id as it is, else the one report with that name or
    developer name; `ReportError` naming the close matches when there is not exactly one."""
    text = report.strip()
    if _REPORT_ID.match(text):
        return text
    literal = _soql_text(text)
    found = _report_rows(session, f" WHERE Name = {literal} OR DeveloperName = {literal}")
    if len(found) == 1:
        return str(found[0]["Id"])
    if len(found) > 1:
        listed = "; ".join(
            f"{r['Name']} ({r['DeveloperName']}, folder {r.get('FolderName') or '-'}): {r['Id']}"
            for r in found
        )
        raise ReportError(
            f"{len(found)} reports are named {text!r}: {listed}. Pass the Id or the "
            "developer name of the one you mean."
        )
    everything = _report_rows(session)
    names = {str(r["Name"]): r for r in everything}
    names.update({str(r["DeveloperName"]): r for r in everything})
    lowered = text.casefold()
    close = [n for n in names if lowered in n.casefold()]
    close += difflib.get_close_matches(text, list(names), n=5, cutoff=0.5)
    close = list(dict.fromkeys(close))[:5]
    hint = (
        "Close matches: " + ", ".join(repr(n) for n in close) + "."
        if close
        else "sf.reports() lists the reports you can see."
    )
    raise ReportError(f"No report is named {text!r}. {hint}")


# -- runtime filters --------------------------------------------------------------------


def _filter_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime.datetime):
        moment: datetime.datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return moment.isoformat(timespec="seconds") + "Z"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ",".join(_filter_value(v) for v in value)
    return str(value)


def _columns_of(describe: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """API column name -> (label, dataType) of every column the report type offers."""
    columns: dict[str, tuple[str, str]] = {}
    type_metadata = describe.get("reportTypeMetadata") or {}
    for category in type_metadata.get("categories") or ():
        for name, info in (category.get("columns") or {}).items():
            columns[name] = (str(info.get("label") or name), str(info.get("dataType") or ""))
    extended = describe.get("reportExtendedMetadata") or {}
    for name, info in (extended.get("detailColumnInfo") or {}).items():
        columns.setdefault(name, (str(info.get("label") or name), str(info.get("dataType") or "")))
    return columns


def _column_name(text: str, columns: Mapping[str, tuple[str, str]], report: str) -> str:
    if text in columns:
        return text
    by_name = [n for n in columns if n.casefold() == text.casefold()]
    by_label = [n for n, (label, _) in columns.items() if label.casefold() == text.casefold()]
    found = by_name or by_label
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise ReportError(
            f"{text!r} names several columns of {report}: {', '.join(found)}; use the API name."
        )
    options = list(columns) + [label for label, _ in columns.values()]
    close = difflib.get_close_matches(text, options, n=5, cutoff=0.5)
    hint = f" Close: {', '.join(close)}." if close else ""
    raise ReportError(f"{report} has no column {text!r}.{hint}")


def normalize_filter(
    item: ReportFilter, columns: Mapping[str, tuple[str, str]], report: str
) -> dict[str, Any]:
    """A Reports API filter (``{column, operator, value}``) from a tuple or a dict."""
    if isinstance(item, Mapping):
        column, operator, value = item.get("column"), item.get("operator"), item.get("value")
    else:
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 3:
            raise ReportError(
                f"A report filter is (column, operator, value) or a dict, not {item!r}."
            )
        column, operator, value = item
    if not isinstance(column, str) or not isinstance(operator, str):
        raise ReportError(f"A report filter needs a column and an operator: {item!r}.")
    name = _column_name(column, columns, report)
    api_operator = _OPERATORS.get(operator.strip().casefold(), operator.strip())
    return {"column": name, "operator": api_operator, "value": _filter_value(value)}


def _renumber(logic: str, offset: int) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + offset), logic)


def combine_logic(
    saved: str | None, saved_count: int, extra: str | None, extra_count: int
) -> str | None:
    """The filter logic of saved filters 1..n plus runtime ones n+1..n+k: both parts must
    hold (a runtime ``boolean_filter`` numbers the runtime filters from 1)."""
    if extra_count == 0:
        return saved
    if not saved and not extra:
        return None
    first = saved or " AND ".join(str(i) for i in range(1, saved_count + 1))
    second = (
        _renumber(extra, saved_count)
        if extra
        else " AND ".join(str(saved_count + i) for i in range(1, extra_count + 1))
    )
    return f"({first}) AND ({second})" if first else second


# -- runs -------------------------------------------------------------------------------


class _Runner:
    """Runs one report, synchronously or as async instances; counts the runs."""

    def __init__(
        self,
        session: Session,
        report_id: str,
        mode: ReportMode,
        details: bool,
        timeout: float,
        poll_interval: float,
    ) -> None:
        self.session = session
        self.path = f"analytics/reports/{report_id}"
        self.mode = mode
        self.details = details
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.runs = 0

    def run(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        self.runs += 1
        params = {"includeDetails": "true" if self.details else "false"}
        body = None if metadata is None else {"reportMetadata": dict(metadata)}
        if self.mode == "sync":
            if body is None:
                answer: dict[str, Any] = self.session.get(self.path, params=params)
            else:
                answer = self.session.post(self.path, json=body, params=params)
            return answer
        started = self.session.post(f"{self.path}/instances", json=body, params=params)
        url = f"{self.path}/instances/{started['id']}"
        deadline = time.monotonic() + self.timeout
        delay = self.poll_interval
        while True:
            answer = self.session.get(url)
            status = (answer.get("attributes") or {}).get("status")
            if status == "Success":
                return answer
            if status == "Error":
                raise ReportError(
                    f"The report run {started['id']} failed on Salesforce (status Error). "
                    "Run it again, or in Salesforce to see why."
                )
            if time.monotonic() > deadline:
                raise ReportError(
                    f"The report run {started['id']} was still {status} after "
                    f"{self.timeout:.0f} s; sf.report(..., timeout=) waits longer."
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)


def _row_count(answer: Mapping[str, Any], shape: ReportShape) -> int | None:
    """The report's record count (``RowCount`` of ``T!T``), if the run has one."""
    if "RowCount" not in shape.aggregates:
        return None
    total = ((answer.get("factMap") or {}).get("T!T") or {}).get("aggregates") or ()
    index = shape.aggregates.index("RowCount")
    if index < len(total) and isinstance(total[index].get("value"), int | float):
        return int(total[index]["value"])
    return None


def record_id_column(columns: Mapping[str, tuple[str, str]], report_type: str) -> str | None:
    """The Id column of the report type's own records (``CONTACT_ID`` for ``ContactList``):
    one value per detail row, never empty. Other Id columns (a parent's) repeat."""
    kind = report_type.upper()
    for name, (_, data_type) in columns.items():
        stem = re.sub(r"[._]?ID$", "", name.upper()).split(".")[-1]
        if data_type == "id" and stem and stem in kind:
            return name
    return None


def split_candidates(
    columns: Mapping[str, tuple[str, str]], report_type: str, preferred: str | None = None
) -> list[str]:
    """Columns to read a big report in ranges of, best first: the report type's record Id
    (unique, never empty), its other Id columns, then date-time and date columns (a
    ``CREATED`` one first). Only `preferred` when given."""
    if preferred:
        return [preferred]
    own = record_id_column(columns, report_type)
    ordered = [own] if own else []
    ordered += [n for n, (_, t) in columns.items() if t == "id" and n != own]
    for wanted in ("datetime", "date"):
        dated = [name for name, (_, data_type) in columns.items() if data_type == wanted]
        ordered += [n for n in dated if "CREATED" in n.upper()]
        ordered += [n for n in dated if "CREATED" not in n.upper()]
    return ordered


def choose_split_column(
    columns: Mapping[str, tuple[str, str]], report_type: str, preferred: str | None = None
) -> str | None:
    """The first of `split_candidates`, or None."""
    candidates = split_candidates(columns, report_type, preferred)
    return candidates[0] if candidates else None


class _Split:
    """Reads every detail row of a report cut at 2,000, in ranges of one column."""

    def __init__(
        self,
        runner: _Runner,
        metadata: Mapping[str, Any],
        shape: ReportShape,
        column: str,
        data_type: str,
        max_runs: int,
        unique: bool = False,
    ) -> None:
        self.runner = runner
        self.column = column
        self.data_type = data_type
        #: One row per value, never empty (the report's own record Id): no tie runs, no
        #: final run for empty values.
        self.unique = unique
        self.max_runs = max_runs
        self.problems: list[str] = []
        details = list(
            dict.fromkeys([g.name for g in shape.groupings] + list(shape.detail_columns))
        )
        self.added = column not in details
        if self.added:
            details.append(column)
        self.position = details.index(column)
        self.base_filters = list(metadata.get("reportFilters") or [])
        self.base_logic = metadata.get("reportBooleanFilter") or None
        self.periods = {g.name: g.granularity for g in shape.groupings if g.granularity != "None"}
        self.metadata = {
            **metadata,
            "reportFormat": "TABULAR",
            "groupingsDown": [],
            "groupingsAcross": [],
            "aggregates": ["RowCount"],
            "detailColumns": details,
            "sortBy": [{"sortColumn": column, "sortOrder": "Asc"}],
        }

    def _run(self, operator: str, value: str) -> tuple[dict[str, Any], list[Any]]:
        filters = [
            *self.base_filters,
            {"column": self.column, "operator": operator, "value": value},
        ]
        logic = self.base_logic
        if logic:
            logic = f"({logic}) AND {len(filters)}"
        answer = self.runner.run(
            {**self.metadata, "reportFilters": filters, "reportBooleanFilter": logic}
        )
        rows = ((answer.get("factMap") or {}).get("T!T") or {}).get("rows") or ()
        raw = [
            cell_value(
                (row.get("dataCells") or [None] * (self.position + 1))[self.position],
                self.data_type,
            )
            for row in rows
        ]
        return answer, raw

    def _frame(self, answer: Mapping[str, Any], keep: list[bool] | None = None) -> pd.DataFrame:
        frame = flatten_details(answer, ReportShape.of(answer), self.periods)
        if keep is not None:
            frame = frame[keep]
        return frame

    def read(self) -> list[pd.DataFrame]:
        pieces: list[pd.DataFrame] = []
        last: Any = None
        first = True
        while True:
            if self.runner.runs >= self.max_runs:
                self.problems.append(f"stopped after max_runs={self.max_runs} runs")
                break
            if first:
                answer = self.runner.run(
                    {
                        **self.metadata,
                        "reportFilters": self.base_filters,
                        "reportBooleanFilter": self.base_logic,
                    }
                )
                rows = ((answer.get("factMap") or {}).get("T!T") or {}).get("rows") or ()
                raw = [
                    cell_value(
                        (row.get("dataCells") or [None] * (self.position + 1))[self.position],
                        self.data_type,
                    )
                    for row in rows
                ]
                first = False
            else:
                answer, raw = self._run("greaterThan", _filter_value(last))
            present = [value is not None for value in raw]
            if answer.get("allData", True):
                pieces.append(self._frame(answer, present))
                break
            values = [value for value in raw if value is not None]
            if not values:
                break  # the cut run held empty values only: the final run reads them
            boundary = values[-1]
            if self.unique:  # nothing else has the last value: go on after it
                pieces.append(self._frame(answer, present))
                last = boundary
                continue
            pieces.append(self._frame(answer, [v is not None and v != boundary for v in raw]))
            if self.runner.runs >= self.max_runs:
                self.problems.append(f"stopped after max_runs={self.max_runs} runs")
                break
            same, same_raw = self._run("equals", _quoted(_filter_value(boundary)))
            pieces.append(self._frame(same, [v is not None for v in same_raw]))
            if not same.get("allData", True):
                self.problems.append(
                    f"more than {DETAIL_ROW_LIMIT:,} rows have {self.column} = {boundary}"
                )
            last = boundary
        if not self.unique and self.runner.runs < self.max_runs:
            empty, _ = self._run("equals", "")
            pieces.append(self._frame(empty))
            if not empty.get("allData", True):
                self.problems.append(f"more than {DETAIL_ROW_LIMIT:,} rows have no {self.column}")
        return pieces


def _quoted(value: str) -> str:
    # The Reports API splits a filter value at commas (a list); a comma inside one value
    # is kept by double quotes.
    return f'"{value}"' if "," in value else value


# -- notes ------------------------------------------------------------------------------


def _show_note(text: str) -> None:
    """The note under the cell: text and HTML in a notebook, a printed line elsewhere."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        import html

        from IPython.display import display

        display(  # type: ignore[no-untyped-call]
            {
                "text/plain": text,
                "text/html": "<div style='font-size:12px;opacity:.8'>"
                + html.escape(text)
                + "</div>",
            },
            raw=True,
        )
        return
    print(text, file=sys.stdout)


def _group_order(answer: Mapping[str, Any], shape: ReportShape) -> dict[str, dict[Any, int]]:
    """Per grouping column, the order Salesforce listed its values in (picklist order,
    date order…), read from the first run's grouping trees."""
    order: dict[str, dict[Any, int]] = {}
    for across, key in ((False, "groupingsDown"), (True, "groupingsAcross")):
        groupings = [g for g in shape.groupings if g.across is across]
        level_nodes = list((answer.get(key) or {}).get("groupings") or ())
        for grouping in groupings:
            seen: dict[Any, int] = {}
            for node in level_nodes:
                seen.setdefault(cell_value(node, grouping.data_type), len(seen))
            order[grouping.name] = seen
            level_nodes = [child for node in level_nodes for child in node.get("groupings") or ()]
    return order


def _sorted_like_report(
    frame: pd.DataFrame, order: Mapping[str, Mapping[Any, int]], shape: ReportShape
) -> pd.DataFrame:
    import pandas as pd

    if not shape.groupings or frame.empty:
        unchanged: pd.DataFrame = frame.reset_index(drop=True)
        return unchanged
    keys = pd.DataFrame(index=frame.index)
    for grouping in shape.groupings:
        ranks = order.get(grouping.name, {})
        column = frame[grouping.name]
        raw = [None if pd.isna(v) else _raw_key(v, grouping.data_type) for v in column]
        keys[grouping.name] = [ranks.get(v, len(ranks)) for v in raw]
    ordered = keys.sort_values(list(keys.columns), kind="stable").index
    result: pd.DataFrame = frame.loc[ordered].reset_index(drop=True)
    return result


def _raw_key(value: Any, data_type: str) -> Any:
    """A typed grouping value back in the form the grouping tree holds it."""
    if data_type == "date" and hasattr(value, "date"):
        return value.date().isoformat()
    if data_type == "boolean":
        return bool(value)
    return value


# -- the entry point --------------------------------------------------------------------


def run_report(
    session: Session,
    report: str,
    filters: Iterable[ReportFilter] | None = None,
    *,
    boolean_filter: str | None = None,
    aggregates: bool = False,
    mode: ReportMode = "sync",
    split: bool = True,
    split_on: str | None = None,
    labels: bool = True,
    max_runs: int = 200,
    timeout: float = 600.0,
    poll_interval: float = 0.2,
    quiet: bool = False,
) -> pd.DataFrame:
    """Run `report` (Id, name or developer name) and answer its rows as a DataFrame.

    - `filters`: runtime filters added to the report's own, each ``(column, operator,
      value)`` (column by API name or label; operators ``= != < > <= >= contains
      startswith "not contains" in "not in" includes excludes`` or the API's names; a
      list value means any of them) or a Reports API filter dict;
      `boolean_filter`: their logic, numbering them from 1 (``"1 OR 2"``); the report's
      saved logic still applies;
    - `aggregates`: the summary instead of the rows: one row per grouping cell with each
      aggregate (subtotals have empty grouping columns; the grand total is last);
    - `mode`: ``"sync"`` (default) or ``"async"`` (report instances, polled up to
      `timeout` seconds; for reports that take long to run);
    - `split`: read past Salesforce's 2,000-row cap (see the module docstring), with
      `split_on` to name the column and at most `max_runs` runs;
    - `labels`: columns named by their labels (False: API names such as ``AMOUNT``);
    - `quiet`: no note under the cell (``attrs["report"]["note"]`` has it anyway).
    """
    report_id = resolve_report(session, report)
    describe = session.get(f"analytics/reports/{report_id}/describe")
    saved = dict(describe.get("reportMetadata") or {})
    name = str(saved.get("name") or report)
    columns = _columns_of(describe)
    extra = [normalize_filter(item, columns, name) for item in (filters or ())]
    if boolean_filter and not extra:
        raise ReportError("boolean_filter numbers the runtime filters, but none were given.")
    metadata: dict[str, Any] | None = None
    if extra:
        saved_filters = list(saved.get("reportFilters") or [])
        metadata = {
            **saved,
            "reportFilters": saved_filters + extra,
            "reportBooleanFilter": combine_logic(
                saved.get("reportBooleanFilter"), len(saved_filters), boolean_filter, len(extra)
            ),
        }
    runner = _Runner(session, report_id, mode, not aggregates, timeout, poll_interval)
    first = runner.run(metadata)
    shape = ReportShape.of(first)
    label_of = shape.labels()
    info: dict[str, Any] = {
        "id": report_id,
        "name": name,
        "format": shape.format,
        "mode": mode,
        "filters": extra,
        "boolean_filter": metadata.get("reportBooleanFilter") if metadata else None,
    }
    if aggregates:
        frame = flatten_aggregates(first, shape)
        note = f"{name}: aggregates of {len(frame):,} grouping cells, one run."
        return _finish(frame, label_of, labels, {**info, "runs": 1, "note": note, "complete": True})
    frame = flatten_details(first, shape)
    total = _row_count(first, shape)
    split_column: str | None = None
    problems: list[str] = []
    if not first.get("allData", True):
        if not split:
            problems.append("split=False")
        else:
            report_type = str((saved.get("reportType") or {}).get("type") or "")
            candidates = split_candidates(
                columns, report_type, _column_name(split_on, columns, name) if split_on else None
            )[:MAX_SPLIT_TRIES]
            own_id = record_id_column(columns, report_type)
            if not candidates:
                problems.append("the report type has no Id, date or date-time column to split on")
            refused: list[str] = []
            for candidate in candidates:
                # A column the org will not range over (a filter or sort it refuses): the
                # next candidate, from the start.
                try:
                    read, problems = _read_split(
                        runner,
                        metadata or saved,
                        shape,
                        candidate,
                        columns,
                        frame,
                        max_runs,
                        unique=candidate == own_id,
                    )
                except SalesforceError as error:
                    refused.append(f"reading in ranges of {candidate} failed: {error.message}")
                    continue
                split_column = candidate
                frame = _sorted_like_report(read, _group_order(first, shape), shape)
                break
            else:
                problems = problems or refused
    if total is not None and len(frame) != total and not problems:
        problems.append(f"{len(frame):,} rows were read but the report counts {total:,}")
    note = _note(name, shape, frame, total, runner.runs, split_column, columns, problems)
    info.update(
        {
            "runs": runner.runs,
            "rows": len(frame),
            "total_rows": total,
            "split_on": split_column,
            "complete": not problems,
            "note": note,
        }
    )
    result = _finish(frame, label_of, labels, info)
    if problems:
        warnings.warn(note, PartialReportWarning, stacklevel=3)
    elif runner.runs > 1 and not quiet:
        _show_note(note)
    return result


def _read_split(
    runner: _Runner,
    metadata: Mapping[str, Any],
    shape: ReportShape,
    column: str,
    columns: Mapping[str, tuple[str, str]],
    first_frame: pd.DataFrame,
    max_runs: int,
    unique: bool,
) -> tuple[pd.DataFrame, list[str]]:
    import pandas as pd

    data_type = columns.get(column, ("", ""))[1]
    splitter = _Split(runner, metadata, shape, column, data_type, max_runs, unique)
    pieces = splitter.read()  # a SalesforceError: the caller tries another column
    wanted = list(first_frame.columns)
    aligned = [piece.reindex(columns=wanted) for piece in pieces if len(piece)]
    if not aligned:
        return first_frame.iloc[0:0], splitter.problems
    frame = pd.concat(aligned, ignore_index=True)
    for name in wanted:  # keep the first run's dtypes (an empty piece may be untyped)
        if frame[name].dtype != first_frame[name].dtype:
            with contextlib.suppress(TypeError, ValueError):
                frame[name] = frame[name].astype(first_frame[name].dtype)
    return frame, splitter.problems


def _note(
    name: str,
    shape: ReportShape,
    frame: pd.DataFrame,
    total: int | None,
    runs: int,
    column: str | None,
    columns: Mapping[str, tuple[str, str]],
    problems: list[str],
) -> str:
    kind = shape.format.lower()
    runs_text = f"{runs} run" + ("s" if runs != 1 else "")
    if problems:
        of = f" of {total:,}" if total is not None else ""
        return (
            f"{name} ({kind}): PARTIAL: {len(frame):,}{of} rows in {runs_text} "
            f"(Salesforce answers at most {DETAIL_ROW_LIMIT:,} detail rows per run): "
            + "; ".join(problems)
            + "."
        )
    if column is None:
        return f"{name} ({kind}): {len(frame):,} rows in {runs_text}."
    label = columns.get(column, (column, ""))[0]
    return (
        f"{name} ({kind}): {len(frame):,} rows read in {runs_text}. Salesforce answers at "
        f"most {DETAIL_ROW_LIMIT:,} detail rows per run, so the rows were read as a tabular "
        f"report sorted by {label} ({column}), each run asking for the values after the "
        "last one read; the count matches the report's record count."
    )


def _finish(
    frame: pd.DataFrame,
    label_of: Mapping[str, str],
    labels: bool,
    info: dict[str, Any],
) -> pd.DataFrame:
    names = display_names(frame.columns, label_of)
    info["columns"] = {names[c]: c for c in frame.columns}
    if labels:
        frame = frame.rename(columns=names)
    frame.attrs["report"] = info
    return frame
