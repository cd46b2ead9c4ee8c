"""SOQL completion and inspection through the kernel, so every frontend gets them.

JupyterLab, Notebook 7, VS Code and Colab all ask the kernel (``complete_request``,
``inspect_request``), so the work is done here, in two hooks on the IPython shell:

- a Matcher (IPython's API v2) that answers inside ``%%soql`` cells, ``%soql`` lines and
  string arguments of ``sf.query(…)``, ``sf.query_records(…)``, ``sf.query_all(…)``,
  ``sf.bulk_query(…)``, ``sf.count(…)`` and ``sf.explain(…)``, and keeps the Python
  completions out of the way there;
- ``inspect_request`` (Shift+Tab) on a field name in such a query shows the field's
  label, type and help text.

Both read the org's metadata from a `Catalog` (describe cached on disk, fetched in the
background) and never wait for the network for more than `BUDGET` seconds in all.
`register(shell)` installs them once; ``%load_ext ak_salesforce_nb`` and
``aksf.session()`` call it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._soql_catalog import Catalog, catalog_for
from ._soql_context import (
    AGGREGATE_FUNCTIONS,
    DATE_FUNCTIONS,
    Kind,
    Scope,
    Spot,
    field_at,
    locate,
)

__all__ = [
    "BUDGET",
    "SoqlSite",
    "complete_soql",
    "find_site",
    "inspect_soql",
    "register",
    "register_in_running_shell",
]

#: Seconds one completion may wait for describe calls, all of them together.
BUDGET = 0.15
#: Matches one completion answers at most.
MAX_MATCHES = 200
_QUERY_METHODS = ("query", "query_records", "query_all", "query_all_records", "bulk_query",
                  "count", "explain", "query_pages")  # fmt: skip
_CALL = re.compile(
    r"(?P<receiver>[A-Za-z_]\w*)\s*\.\s*(?P<method>" + "|".join(_QUERY_METHODS) + r")\s*\(\s*"
    r"(?:soql\s*=\s*)?(?P<prefix>[rRuU]?)(?P<quote>\"\"\"|'''|\"|')"
)
_CONNECTION_OPTION = re.compile(r"(?:-c|--connection)(?:\s+|=)(\S+)")
_IGNORED_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})


@dataclass(frozen=True)
class SoqlSite:
    """The SOQL text around the cursor: `soql`, the cursor's offset in it, and where
    the session comes from (a ``-c`` connection, or the receiver of ``sf.query``)."""

    soql: str
    cursor: int
    connection: str | None = None
    receiver: Any = None


def find_site(full_text: str, offset: int, namespace: dict[str, Any]) -> SoqlSite | None:
    """The SOQL holding `offset` in a cell, if any."""
    first, _, body = full_text.partition("\n")
    if first.lstrip().startswith("%%soql"):
        start = len(first) + 1
        if offset < start:
            return None
        option = _CONNECTION_OPTION.search(first)
        return SoqlSite(body, offset - start, option[1] if option else None)
    line_start = full_text.rfind("\n", 0, offset) + 1
    line = full_text[line_start:offset]
    magic = re.search(r"(?:^|[=\s])%soql\b", line)
    if magic is not None:
        from ._magic_line import split_line

        options, _query = split_line(line[magic.end() :])
        query_start = line_start + magic.end() + len(options)
        while query_start < offset and full_text[query_start].isspace():
            query_start += 1
        option = _CONNECTION_OPTION.search(options)
        return SoqlSite(
            full_text[query_start:offset] + full_text[offset:].split("\n", 1)[0],
            offset - query_start,
            option[1] if option else None,
        )
    return _string_argument(full_text, offset, namespace)


def _string_argument(full_text: str, offset: int, namespace: dict[str, Any]) -> SoqlSite | None:
    before = full_text[:offset]
    for match in reversed(list(_CALL.finditer(before))):
        quote = match["quote"]
        start = match.end()
        if quote in before[start:]:
            continue  # that string is closed before the cursor
        receiver = namespace.get(match["receiver"])
        if receiver is None or not hasattr(receiver, "instance_url"):
            return None
        end = full_text.find(quote, offset)
        soql = full_text[start : end if end >= 0 else len(full_text)]
        return SoqlSite(soql, offset - start, receiver=receiver)
    return None


# -- the org's metadata for a site ----------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.until - time.monotonic())


def _object_of_scope(catalog: Catalog, scope: Scope, deadline: _Deadline) -> str | None:
    """The object a scope reads: top-level FROM, else follow child relationships down."""
    chain = scope.chain()
    current = chain[0]
    if current is None:
        return None
    current = catalog.resolve(current) or current
    for relationship in chain[1:]:
        if relationship is None:
            return None
        described = catalog.describe(current, wait=deadline.left())
        if described is None:
            return None
        child = _child(described, relationship)
        current = str(child["childSObject"]) if child else None
        if current is None:
            return None
    return current


def _child(described: dict[str, Any], relationship: str) -> dict[str, Any] | None:
    lowered = relationship.lower()
    for child in described.get("childRelationships", []):
        if str(child.get("relationshipName", "")).lower() == lowered:
            return dict(child)
    return None


def _follow(
    catalog: Catalog, sobject: str, path: Iterable[str], deadline: _Deadline
) -> dict[str, Any] | None:
    """The describe of the object at the end of relationship `path` from `sobject`."""
    described = catalog.describe(sobject, wait=deadline.left())
    for segment in path:
        if described is None:
            return None
        lowered = segment.lower()
        target = None
        for f in described.get("fields", []):
            if str(f.get("relationshipName", "")).lower() == lowered and f.get("referenceTo"):
                target = str(f["referenceTo"][0])
                break
        if target is None:
            return None
        described = catalog.describe(target, wait=deadline.left())
    return described


def _field(described: dict[str, Any], name: str) -> dict[str, Any] | None:
    lowered = name.lower()
    for f in described.get("fields", []):
        if str(f.get("name", "")).lower() == lowered:
            return dict(f)
    return None


# -- completion ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    text: str
    type: str


def _matching(fragment: str, candidates: Iterable[Candidate]) -> list[Candidate]:
    lowered = fragment.lower()
    seen: set[str] = set()
    found = []
    for candidate in candidates:
        key = candidate.text.lower()
        if key.startswith(lowered) and key not in seen:
            seen.add(key)
            found.append(candidate)
            if len(found) >= MAX_MATCHES:
                break
    return found


def _object_candidates(catalog: Catalog, objects: list[dict[str, Any]]) -> list[Candidate]:
    # An org has thousands of objects: build their sorted list once per global describe.
    key = ("objects", len(objects), id(catalog.objects_body()))
    memo = catalog.memo.get(key)
    if memo is None:
        names = [Candidate(str(o["name"]), "object") for o in objects if o.get("queryable", True)]
        memo = catalog.memo[key] = sorted(names, key=_by_name)
    return list(memo)


_FUNCTIONS = frozenset(
    {
        *AGGREGATE_FUNCTIONS,
        *DATE_FUNCTIONS,
        "ROLLUP",
        "CUBE",
        "FORMAT",
        "FIELDS",
        "toLabel",
        "convertCurrency",
    }
)


def _keyword_candidates(spot: Spot) -> list[Candidate]:
    return [
        Candidate(word + "(", "function") if word in _FUNCTIONS else Candidate(word, "keyword")
        for word in spot.keywords
    ]


def _placeholders(namespace: dict[str, Any]) -> list[Candidate]:
    import types

    names = []
    for name, value in namespace.items():
        if name.startswith("_") or name in _IGNORED_NAMES:
            continue
        if isinstance(value, (types.ModuleType, type, types.FunctionType, types.MethodType)):
            continue
        names.append(Candidate(name, "variable"))
    return sorted(names, key=lambda c: c.text.lower())


def complete_soql(
    site: SoqlSite,
    catalog: Catalog | None,
    namespace: dict[str, Any],
    *,
    budget: float = BUDGET,
) -> tuple[str, list[Candidate]]:
    """The fragment to replace and the candidates for it (best first)."""
    spot = locate(site.soql, site.cursor)
    if spot is None:
        return "", []
    deadline = _Deadline(budget)
    if spot.kind is Kind.PLACEHOLDER:
        return spot.fragment, _matching(spot.fragment, _placeholders(namespace))
    keywords = _keyword_candidates(spot)
    if catalog is None:
        return spot.fragment, _matching(spot.fragment, keywords)
    if spot.kind is Kind.OBJECT:
        objects = catalog.objects(wait=deadline.left()) or []
        return spot.fragment, _matching(spot.fragment, _object_candidates(catalog, objects))
    if spot.kind is Kind.CHILD_RELATIONSHIP:
        outer = spot.scope.outer
        parent = _object_of_scope(catalog, outer, deadline) if outer is not None else None
        described = catalog.describe(parent, wait=deadline.left()) if parent else None
        children = [
            Candidate(str(c["relationshipName"]), "relationship")
            for c in (described or {}).get("childRelationships", [])
        ]
        return spot.fragment, _matching(spot.fragment, sorted(children, key=_by_name))
    sobject = _object_of_scope(catalog, spot.scope, deadline)
    if spot.kind is Kind.PICKLIST_VALUE:
        return spot.fragment, _picklist(catalog, sobject, spot, deadline)
    if spot.kind is Kind.KEYWORD or sobject is None:
        return spot.fragment, _matching(spot.fragment, keywords)
    described = _follow(catalog, sobject, spot.path, deadline)
    fields = _field_candidates(described, spot.clause) if described else []
    return spot.fragment, _matching(spot.fragment, [*fields, *keywords])


def _by_name(candidate: Candidate) -> str:
    return candidate.text.lower()


def _field_candidates(described: dict[str, Any], clause: str) -> list[Candidate]:
    fields, relationships = [], []
    for f in described.get("fields", []):
        if clause == "group" and f.get("groupable") is False:
            continue
        if clause == "order" and f.get("sortable") is False:
            continue
        if clause == "where" and f.get("filterable") is False:
            continue
        fields.append(Candidate(str(f["name"]), "field"))
        if f.get("relationshipName") and f.get("referenceTo"):
            relationships.append(Candidate(str(f["relationshipName"]) + ".", "relationship"))
    return sorted(fields, key=_by_name) + sorted(relationships, key=_by_name)


def _picklist(
    catalog: Catalog, sobject: str | None, spot: Spot, deadline: _Deadline
) -> list[Candidate]:
    if sobject is None or spot.picklist_field is None:
        return []
    *path, name = spot.picklist_field.split(".")
    described = _follow(catalog, sobject, path, deadline)
    found = _field(described, name) if described else None
    if found is None:
        return []
    values = [
        Candidate(str(v["value"]).replace("'", "\\'"), "value")
        for v in found.get("picklistValues", [])
        if v.get("active", True) and v.get("value") is not None
    ]
    return _matching(spot.fragment, values)


# -- inspection ---------------------------------------------------------------------------


def inspect_soql(site: SoqlSite, catalog: Catalog, *, budget: float = BUDGET) -> dict[str, str]:
    """A mime bundle describing the field under the cursor, or {} if there is none."""
    found = field_at(site.soql, site.cursor)
    if found is None:
        return {}
    name, scope, _clause = found
    deadline = _Deadline(budget)
    sobject = _object_of_scope(catalog, scope, deadline)
    if sobject is None:
        return {}
    *path, last = name.split(".")
    described = _follow(catalog, sobject, path, deadline)
    field = _field(described, last) if described else None
    if field is None or described is None:
        return {}
    owner = str(described.get("name") or sobject)
    kind = str(field.get("type", ""))
    if field.get("referenceTo"):
        kind += f" → {', '.join(map(str, field['referenceTo']))}"
    lines = [f"{owner}.{field['name']}: {field.get('label', '')}", f"Type: {kind}"]
    if field.get("length"):
        lines.append(f"Length: {field['length']}")
    if field.get("externalId"):
        lines.append("External ID")
    if field.get("inlineHelpText"):
        lines.append(f"Help: {field['inlineHelpText']}")
    values = [str(v.get("value")) for v in field.get("picklistValues", []) if v.get("active")]
    if values:
        lines.append("Values: " + ", ".join(values[:20]) + (" …" if len(values) > 20 else ""))
    return {"text/plain": "\n".join(lines)}


# -- the IPython side ---------------------------------------------------------------------


def _session_for(site: SoqlSite, shell: Any) -> Any:
    """A synchronous session for the site, or None (not connected: keywords only)."""
    receiver = site.receiver
    if receiver is not None and callable(getattr(receiver, "send", None)):
        from ._session import Session

        if isinstance(receiver, Session):
            return receiver
        name = getattr(receiver, "name", None)
    else:
        name = site.connection
    magics = shell.magics_manager.registry.get("SoqlMagics") if shell is not None else None
    try:
        if magics is not None:
            return magics.session(magics.connection_name(name))
        from ._magic_line import last_connection
        from ._session import Session

        return Session(name or last_connection() or "default")
    except Exception:
        return None


def _catalog(site: SoqlSite, shell: Any) -> Catalog | None:
    session = _session_for(site, shell)
    if session is None:
        return None
    try:
        return catalog_for(session)
    except Exception:
        return None


def _matcher(shell: Any) -> Callable[[Any], dict[str, Any]]:
    from IPython.core.completer import SimpleCompletion, context_matcher

    # First of all matchers: inside SOQL it suppresses the rest (jedi costs ~10 ms a Tab).
    @context_matcher(priority=100)  # type: ignore[untyped-decorator]
    def soql_matcher(context: Any) -> dict[str, Any]:
        empty: dict[str, Any] = {"completions": [], "suppress": False}
        lines = context.full_text.split("\n")
        offset = sum(len(line) + 1 for line in lines[: context.cursor_line])
        offset += context.cursor_position
        site = find_site(context.full_text, offset, shell.user_ns)
        if site is None:
            return empty
        fragment, candidates = complete_soql(site, _catalog(site, shell), shell.user_ns)
        if not context.full_text[:offset].endswith(fragment):
            return empty
        # A list longer than a screen helps nobody and costs the frontend: the first
        # MAX_MATCHES, and typing one more letter narrows the rest.
        limit = min(MAX_MATCHES, context.limit or MAX_MATCHES)
        return {
            "completions": [SimpleCompletion(c.text, type=c.type) for c in candidates[:limit]],
            "matched_fragment": fragment,
            # Inside SOQL, Python's names and file paths are noise.
            "suppress": True,
            "ordered": True,
        }

    return soql_matcher  # type: ignore[no-any-return]


def _inspector(shell: Any, original: Callable[..., Any]) -> Callable[..., Any]:
    def do_inspect(
        code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> Any:
        site = find_site(code, cursor_pos, shell.user_ns)
        if site is not None:
            catalog = _catalog(site, shell)
            bundle = inspect_soql(site, catalog) if catalog is not None else {}
            if bundle:
                return {"status": "ok", "found": True, "data": bundle, "metadata": {}}
        return original(code, cursor_pos, detail_level, omit_sections)

    do_inspect.__wrapped__ = original  # type: ignore[attr-defined]
    return do_inspect


def register(shell: Any) -> None:
    """Install the SOQL matcher and inspector on `shell` (once)."""
    completer = getattr(shell, "Completer", None)
    if completer is None or getattr(shell, "_aksf_soql_completion", False):
        return
    completer.custom_matchers.insert(0, _matcher(shell))
    kernel = getattr(shell, "kernel", None)
    if kernel is not None and callable(getattr(kernel, "do_inspect", None)):
        kernel.do_inspect = _inspector(shell, kernel.do_inspect)
    shell._aksf_soql_completion = True


def register_in_running_shell() -> None:
    """`register` on the running IPython shell, if this is one (a session made in a
    notebook completes its ``sf.query("…")`` strings without ``%load_ext``)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        register(shell)
