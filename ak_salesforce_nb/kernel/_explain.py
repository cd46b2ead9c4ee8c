"""Query plans (``GET query?explain=``) and API usage (``Sforce-Limit-Info``), for people.

Salesforce's Query Plan tool answers, for one SOQL query, the plans the optimizer
considered, cheapest first: the leading operation (``Index``, ``TableScan``,
``Sharing``, ``Other``), the rows it expects (``cardinality``) of the object's
(``sobjectCardinality``), and a ``relativeCost`` where above 1 means "not selective".
`QueryPlan` shows them as a table with a plain-language warning, and its `cardinality`
lets ``method="auto"`` choose Bulk API 2.0 before running the query.

`ApiUsage` reads ``Sforce-Limit-Info: api-usage=25/15000`` (the org's daily API requests
so far, and its limit), which every REST answer carries.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ApiUsage", "QueryPlan", "parse_api_usage"]

_COLUMNS = (
    "leading_operation",
    "cardinality",
    "sobject_cardinality",
    "relative_cost",
    "sobject",
    "fields",
    "notes",
)


@dataclass(frozen=True)
class QueryPlan:
    """The plans of one query, cheapest first (see the module docstring)."""

    soql: str
    plans: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_answer(cls, soql: str, answer: dict[str, Any]) -> QueryPlan:
        plans = [p for p in answer.get("plans", []) if isinstance(p, dict)]
        plans.sort(key=lambda p: float(p.get("relativeCost") or 0.0))
        return cls(soql, plans)

    @property
    def best(self) -> dict[str, Any] | None:
        return self.plans[0] if self.plans else None

    @property
    def cardinality(self) -> int | None:
        """Rows the cheapest plan expects, or None without a plan."""
        best = self.best
        return None if best is None else int(best.get("cardinality") or 0)

    @property
    def leading_operation(self) -> str | None:
        best = self.best
        return None if best is None else str(best.get("leadingOperationType", ""))

    @property
    def warnings(self) -> list[str]:
        """Plain sentences about what makes the query slow, if anything."""
        best = self.best
        if best is None:
            return []
        sobject = best.get("sobjectType", "the object")
        total = int(best.get("sobjectCardinality") or 0)
        said: list[str] = []
        if best.get("leadingOperationType") == "TableScan":
            said.append(
                f"This query reads every {sobject} record (a table scan of about {total:,} "
                "rows). Filter on an indexed field (Id, Name, an external ID, a lookup, "
                "CreatedDate or SystemModstamp) to make it selective."
            )
        cost = float(best.get("relativeCost") or 0.0)
        if cost > 1 and not said:
            said.append(
                f"The cheapest plan costs {cost:g}, above 1: Salesforce does not consider "
                "this filter selective, and on a large object it may time out."
            )
        for note in best.get("notes", []) or []:
            description = note.get("description") if isinstance(note, dict) else None
            if description:
                said.append(str(description))
        return said

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            (
                p.get("leadingOperationType"),
                p.get("cardinality"),
                p.get("sobjectCardinality"),
                p.get("relativeCost"),
                p.get("sobjectType"),
                ", ".join(map(str, p.get("fields") or [])),
                "; ".join(
                    str(n.get("description", ""))
                    for n in p.get("notes") or []
                    if isinstance(n, dict)
                ),
            )
            for p in self.plans
        ]
        table: pd.DataFrame = pd.DataFrame(rows, columns=list(_COLUMNS))
        return table

    def __repr__(self) -> str:
        lines = [f"Query plan for: {self.soql}"]
        if not self.plans:
            lines.append("(no plan)")
        for p in self.plans:
            lines.append(
                f"  {p.get('leadingOperationType')}: ~{p.get('cardinality')} of "
                f"{p.get('sobjectCardinality')} {p.get('sobjectType')} rows, relative cost "
                f"{p.get('relativeCost')}"
            )
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        warnings = "".join(
            f'<p role="note" style="color:var(--jp-warn-color0,#b45309)">⚠ {html.escape(w)}</p>'
            for w in self.warnings
        )
        table = self.frame().to_html(index=False, escape=True) if self.plans else "<p>No plan.</p>"
        return f"<div><p><code>{html.escape(self.soql)}</code></p>{warnings}{table}</div>"


_USAGE = re.compile(r"(?<![\w-])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    used: int
    limit: int

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0

    def __str__(self) -> str:
        return f"API usage today: {self.used:,} of {self.limit:,} requests ({self.share:.1%})"


def parse_api_usage(header: str) -> ApiUsage | None:
    """``api-usage=25/15000`` (possibly with other parts) as an `ApiUsage`."""
    match = _USAGE.search(header or "")
    return None if match is None else ApiUsage(int(match[1]), int(match[2]))
