"""A Reports API answer as rows: the ``factMap`` of any format flattened, typed.

Salesforce answers a report run as a ``factMap`` keyed by grouping position: ``T!T`` is
the grand total (and a tabular report's only cell), ``0!T`` the first grouping down,
``0_1!T`` its second sub-grouping, ``2!0`` a matrix cell (third row grouping, first
column grouping). The grouping values sit apart, in the trees ``groupingsDown`` and
``groupingsAcross`` whose nodes carry those same keys. Detail rows (``rows`` of
``dataCells``, each ``{label, value}``) are found at the deepest keys only.

`flatten_details` gives one row per detail row with the grouping values it sits under as
leading columns; `flatten_aggregates` one row per ``factMap`` cell with its aggregates
(subtotal and total cells have their grouping columns empty above their level, and
``Subtotal`` True, so that an empty grouping value is not mistaken for a subtotal).
Columns are keyed by the report's API column names (``ACCOUNT.NAME``, ``s!AMOUNT``)
until `display_names` turns them into the labels an analyst knows, and typed with the
report's own ``dataType``s through the same table every query result uses
(`_types.type_pandas`).

Which of a cell's two forms becomes the column's value: text (strings, picklists,
emails, …) takes the ``label``, since a name's ``value`` is the Id of the record it links
to and a picklist's ``value`` its API name; numbers, dates, date-times, booleans and Ids
take the ``value``; a currency's ``{amount, currency}`` its amount.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._types import type_pandas

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SUBTOTAL",
    "GroupingColumn",
    "ReportShape",
    "cell_value",
    "display_names",
    "flatten_aggregates",
    "flatten_details",
    "period_start",
]

#: Report data types whose cells take the ``value`` rather than the ``label``.
#: The aggregates frame's column marking subtotal and total cells.
SUBTOTAL = "Subtotal"
_VALUE_TYPES = frozenset(
    {"id", "int", "double", "currency", "percent", "date", "datetime", "boolean", "time"}
)


@dataclasses.dataclass(frozen=True)
class GroupingColumn:
    """One grouping of a run: its API column name, label, type and date granularity."""

    name: str
    label: str
    data_type: str
    granularity: str = "None"
    across: bool = False


@dataclasses.dataclass(frozen=True)
class ReportShape:
    """What the columns of a report answer are (from its metadata, not its rows)."""

    format: str
    groupings: tuple[GroupingColumn, ...]
    detail_columns: tuple[str, ...]
    #: API column name -> (label, dataType), for detail columns and aggregates alike.
    columns: Mapping[str, tuple[str, str]]
    aggregates: tuple[str, ...]

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> ReportShape:
        metadata = answer.get("reportMetadata") or {}
        extended = answer.get("reportExtendedMetadata") or {}
        grouping_info = extended.get("groupingColumnInfo") or {}
        groupings = []
        for across, key in ((False, "groupingsDown"), (True, "groupingsAcross")):
            for grouping in metadata.get(key) or []:
                info = grouping_info.get(grouping["name"], {})
                groupings.append(
                    GroupingColumn(
                        grouping["name"],
                        str(info.get("label") or grouping["name"]),
                        str(info.get("dataType") or "string"),
                        str(grouping.get("dateGranularity") or "None"),
                        across,
                    )
                )
        columns: dict[str, tuple[str, str]] = {}
        for source in ("detailColumnInfo", "aggregateColumnInfo"):
            for name, info in (extended.get(source) or {}).items():
                columns[name] = (str(info.get("label") or name), str(info.get("dataType") or ""))
        return cls(
            str(metadata.get("reportFormat") or "TABULAR"),
            tuple(groupings),
            tuple(metadata.get("detailColumns") or ()),
            columns,
            tuple(metadata.get("aggregates") or ()),
        )

    @property
    def down(self) -> tuple[GroupingColumn, ...]:
        return tuple(g for g in self.groupings if not g.across)

    @property
    def across(self) -> tuple[GroupingColumn, ...]:
        return tuple(g for g in self.groupings if g.across)

    def field_types(self) -> dict[str, str]:
        types = {g.name: g.data_type for g in self.groupings}
        types.update({name: info[1] for name, info in self.columns.items()})
        return types

    def labels(self) -> dict[str, str]:
        labels = {g.name: g.label for g in self.groupings}
        labels.update({name: info[0] for name, info in self.columns.items()})
        return labels


def cell_value(cell: Mapping[str, Any] | None, data_type: str) -> Any:
    """The value a column holds for one ``dataCell`` (see the module docstring)."""
    if cell is None:
        return None
    value = cell.get("value")
    if data_type in _VALUE_TYPES:
        if isinstance(value, Mapping):  # currency: {"amount": 1.5, "currency": "USD"}
            return value.get("amount")
        return value
    if value is None and cell.get("label") in (None, "", "-"):
        return None
    label = cell.get("label")
    return label if label is not None else value


def period_start(value: Any, granularity: str) -> Any:
    """A date (``YYYY-MM-DD…``) as the first day of its grouping period, the way
    Salesforce names a date grouping's value (``2024-03-01`` for March 2024)."""
    if not isinstance(value, str) or len(value) < 10:
        return value
    day = value[:10]
    if granularity == "Month":
        return day[:8] + "01"
    if granularity == "Quarter":
        month = (int(day[5:7]) - 1) // 3 * 3 + 1
        return f"{day[:4]}-{month:02d}-01"
    if granularity == "Year":
        return day[:4] + "-01-01"
    if granularity == "Day":
        return day
    if granularity == "Week":
        moment = datetime.date.fromisoformat(day)
        return (moment - datetime.timedelta(days=(moment.weekday() + 1) % 7)).isoformat()
    return value


def _grouping_values(tree: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Key (``0_1``) -> the raw grouping values on the way to it, one per level."""
    found: dict[str, list[Any]] = {}

    def walk(nodes: Iterable[Mapping[str, Any]], above: list[Any]) -> None:
        for node in nodes:
            path = [*above, node]
            found[str(node.get("key"))] = path
            walk(node.get("groupings") or (), path)

    walk(tree, [])
    return found


def _node_value(node: Mapping[str, Any], grouping: GroupingColumn) -> Any:
    return cell_value(node, grouping.data_type)


def _split_key(key: str) -> tuple[str, str]:
    down, _, across = key.partition("!")
    return down, across or "T"


def _levels(
    key: str, paths: Mapping[str, list[Any]], groupings: tuple[GroupingColumn, ...]
) -> list[Any]:
    """The grouping values of a key's position, None where the key is a (sub)total."""
    values: list[Any] = [None] * len(groupings)
    if key == "T":
        return values
    for level, node in enumerate(paths.get(key, ())):
        if level < len(groupings):
            values[level] = _node_value(node, groupings[level])
    return values


def flatten_details(
    answer: Mapping[str, Any],
    shape: ReportShape | None = None,
    periods: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per detail row: grouping columns first, then the detail columns (API
    names), typed by the report's data types. `periods` (column -> date granularity)
    turns those detail columns' dates into their period's first day, so that rows read
    from a tabular run line up with a grouped run's date groupings."""
    import pandas as pd

    shape = shape or ReportShape.of(answer)
    down_paths = _grouping_values((answer.get("groupingsDown") or {}).get("groupings") or ())
    across_paths = _grouping_values((answer.get("groupingsAcross") or {}).get("groupings") or ())
    down, across = shape.down, shape.across
    types = [shape.columns.get(name, (name, "string"))[1] for name in shape.detail_columns]
    names = [g.name for g in shape.groupings] + _unique(shape.detail_columns, shape.groupings)
    data: list[list[Any]] = []
    for key, fact in (answer.get("factMap") or {}).items():
        rows = fact.get("rows") or ()
        if not rows:
            continue
        down_key, across_key = _split_key(key)
        lead = _levels(down_key, down_paths, down) + _levels(across_key, across_paths, across)
        for row in rows:
            cells = row.get("dataCells") or ()
            values = [
                cell_value(cells[i] if i < len(cells) else None, kind)
                for i, kind in enumerate(types)
            ]
            data.append(lead + values)
    if periods:
        for index, name in enumerate(names[len(shape.groupings) :], len(shape.groupings)):
            granularity = periods.get(name)
            if granularity:
                for values in data:
                    values[index] = period_start(values[index], granularity)
    frame = pd.DataFrame(data, columns=names) if data else pd.DataFrame(columns=names)
    return type_pandas(frame, {n: t for n, t in zip(names, _types(shape, names), strict=True)})


def _unique(details: Iterable[str], groupings: Iterable[GroupingColumn]) -> list[str]:
    # A grouping column is never a detail column on Salesforce; keep the two apart anyway.
    taken = {g.name for g in groupings}
    return [name if name not in taken else f"{name} (detail)" for name in details]


def _types(shape: ReportShape, names: list[str]) -> list[str]:
    types = shape.field_types()
    return [types.get(name.removesuffix(" (detail)"), "string") for name in names]


def flatten_aggregates(answer: Mapping[str, Any], shape: ReportShape | None = None) -> pd.DataFrame:
    """One row per ``factMap`` cell: its grouping values (empty for a total) and each
    aggregate (API names such as ``s!AMOUNT`` and ``RowCount``), grand total last."""
    import pandas as pd

    shape = shape or ReportShape.of(answer)
    down_paths = _grouping_values((answer.get("groupingsDown") or {}).get("groupings") or ())
    across_paths = _grouping_values((answer.get("groupingsAcross") or {}).get("groupings") or ())
    names = [g.name for g in shape.groupings] + [SUBTOTAL] + list(shape.aggregates)
    data: list[list[Any]] = []
    total: list[Any] | None = None
    depth_down, depth_across = len(shape.down), len(shape.across)
    for key, fact in (answer.get("factMap") or {}).items():
        down_key, across_key = _split_key(key)
        lead = _levels(down_key, down_paths, shape.down) + _levels(
            across_key, across_paths, shape.across
        )
        # A subtotal: a total on either side, or a grouping above the deepest level.
        subtotal = (depth_down > 0 and _depth(down_key) < depth_down) or (
            depth_across > 0 and _depth(across_key) < depth_across
        )
        values = [a.get("value") for a in fact.get("aggregates") or ()]
        values = (values + [None] * len(shape.aggregates))[: len(shape.aggregates)]
        if key == "T!T":
            total = [*lead, True, *values]
        else:
            data.append([*lead, subtotal, *values])
    if total is not None:
        data.append(total)
    frame = pd.DataFrame(data, columns=names) if data else pd.DataFrame(columns=names)
    types = {**shape.field_types(), SUBTOTAL: "boolean"}
    return type_pandas(frame, {name: types.get(name, "string") for name in names})


def _depth(key: str) -> int:
    return 0 if key == "T" else key.count("_") + 1


def display_names(columns: Iterable[str], labels: Mapping[str, str]) -> dict[str, str]:
    """API column name -> the label to show (the API name added where labels clash)."""
    columns = list(columns)
    chosen = {name: labels.get(name.removesuffix(" (detail)"), name) for name in columns}
    counts: dict[str, int] = {}
    for label in chosen.values():
        counts[label] = counts.get(label, 0) + 1
    return {
        name: label if counts[label] == 1 else f"{label} ({name})" for name, label in chosen.items()
    }
