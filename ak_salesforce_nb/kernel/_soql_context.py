"""Where in a SOQL query the cursor is, and what may be typed there.

Pure text analysis, no I/O: `locate(soql, cursor)` reads the query (also past the cursor,
since ``FROM`` usually comes after the select list being typed) and answers a `Spot`:
the kind of thing expected at the cursor, the fragment typed so far, and what the
candidates depend on (the FROM object, a relationship path, a picklist field). The
completer turns a `Spot` into names with the org's describe metadata.

The query may be unfinished or wrong: every rule here degrades to "no spot" rather
than raising, because it runs on every Tab press.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from .._soql_words import (
    AGGREGATE_FUNCTIONS,
    DATE_FUNCTIONS,
    DATE_LITERALS,
    DATE_LITERALS_WITH_N,
)

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "CLAUSE_KEYWORDS",
    "DATE_FUNCTIONS",
    "Kind",
    "Scope",
    "Spot",
    "field_at",
    "locate",
]


class Kind(Enum):
    OBJECT = "object"  # after FROM at the top level
    CHILD_RELATIONSHIP = "child relationship"  # after FROM in a subquery
    FIELD = "field"  # select list, WHERE, GROUP BY, ORDER BY, HAVING
    PICKLIST_VALUE = "picklist value"  # inside quotes after `Field =` / `Field IN (`
    PLACEHOLDER = "placeholder"  # after `:` (a variable of the notebook)
    KEYWORD = "keyword"  # after a finished name: the clauses that may follow


CLAUSE_KEYWORDS = (
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "HAVING",
    "ORDER BY",
    "LIMIT",
    "OFFSET",
    "WITH SECURITY_ENFORCED",
    "USING SCOPE",
    "FOR VIEW",
    "FOR UPDATE",
    "ALL ROWS",
)
_WHERE_KEYWORDS = ("AND", "OR", "NOT", "IN", "NOT IN", "LIKE", "INCLUDES", "EXCLUDES", "NULL")
_ORDER_KEYWORDS = ("ASC", "DESC", "NULLS FIRST", "NULLS LAST")
_SELECT_FUNCTIONS = ("toLabel", "FORMAT", "convertCurrency", "FIELDS", "TYPEOF")
# Offered after a comparison: a number-taking literal with its colon, ready for the number.
_DATE_LITERALS = (*DATE_LITERALS, *(f"{word}:" for word in DATE_LITERALS_WITH_N))

# Tokens: strings (possibly unterminated), binds, names with dots, numbers, punctuation.
_TOKEN = re.compile(
    r"""
      (?P<string>'(?:[^'\\]|\\.)*'?)
    | (?P<bind>:[A-Za-z_]\w*|:)
    | (?P<name>[A-Za-z_][\w]*(?:\.[A-Za-z_]?[\w]*)*\.?)
    | (?P<number>\d[\w.:+-]*)
    | (?P<op>!=|<=|>=|<>|[=<>(),])
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_CLAUSE_STARTS = {
    "SELECT": "select",
    "FROM": "from",
    "WHERE": "where",
    "HAVING": "where",
    "GROUP": "group",
    "ORDER": "order",
    "LIMIT": "limit",
    "OFFSET": "limit",
    "WITH": "with",
    "USING": "with",
    "FOR": "with",
}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    depth: int  # parentheses open before this token

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class Scope:
    """One SELECT: the top-level query, or a subquery in parentheses.

    `source` is what follows its FROM (an object name, or in a subquery a child
    relationship name of the `outer` scope's object).
    """

    source: str | None
    outer: Scope | None = None

    @property
    def is_subquery(self) -> bool:
        return self.outer is not None

    def chain(self) -> list[str | None]:
        """Sources from the top-level query down to this one."""
        scopes: list[str | None] = []
        scope: Scope | None = self
        while scope is not None:
            scopes.append(scope.source)
            scope = scope.outer
        return scopes[::-1]


@dataclass(frozen=True)
class Spot:
    """What the cursor expects: `kind`, the `fragment` typed so far (to be replaced)."""

    kind: Kind
    fragment: str
    scope: Scope
    #: For FIELD: the relationship names before the fragment (``Account.Owner.Na``).
    path: tuple[str, ...] = ()
    #: For PICKLIST_VALUE: the field (with its path) whose values are wanted.
    picklist_field: str | None = None
    #: Keywords and functions that fit here, offered alongside names.
    keywords: tuple[str, ...] = field(default=())
    #: The clause the cursor is in (select, where, group, order...).
    clause: str = ""


def _tokens(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    depth = 0
    for match in _TOKEN.finditer(soql):
        kind = match.lastgroup or "other"
        text = match.group()
        if kind == "space":
            continue
        if text == ")":
            depth = max(depth - 1, 0)
        tokens.append(_Token(kind, text, match.start(), depth))
        if text == "(":
            depth += 1
    return tokens


def _scope_bounds(tokens: list[_Token], cursor: int) -> tuple[int, int, list[int]]:
    """Token index range [start, end) of the SELECT holding the cursor, and the start
    indexes of the SELECTs enclosing it (outermost first)."""
    stack: list[int] = [0]  # start index of each open SELECT scope
    opens: list[int | None] = []  # for each open paren: the scope it starts, if a subquery
    for index, token in enumerate(tokens):
        if token.start >= cursor:
            break
        if token.text == "(":
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            is_subquery = following is not None and following.upper == "SELECT"
            opens.append(index + 1 if is_subquery else None)
            if is_subquery:
                stack.append(index + 1)
        elif token.text == ")" and opens:
            started = opens.pop()
            if started is not None and token.end <= cursor:
                stack.pop()
    start = stack[-1]
    depth = tokens[start].depth if start < len(tokens) else 0
    end = len(tokens)
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.text == ")" and token.depth < depth:
            end = index
            break
    return start, end, stack[:-1]


def _source(tokens: list[_Token], start: int, end: int) -> str | None:
    depth = tokens[start].depth if start < len(tokens) else 0
    for index in range(start, end - 1):
        token = tokens[index]
        if token.depth == depth and token.upper == "FROM":
            after = tokens[index + 1]
            if after.kind == "name":
                return after.text.rstrip(".")
    return None


def _scope_at(tokens: list[_Token], cursor: int) -> tuple[Scope, int, int]:
    start, end, enclosing = _scope_bounds(tokens, cursor)
    outer: Scope | None = None
    for outer_start in enclosing:
        _, outer_end, _ = _scope_bounds(tokens, tokens[outer_start].start + 1)
        outer = None if _is_semi_join(tokens, outer_start) else outer
        outer = Scope(_source(tokens, outer_start, outer_end), outer)
    if _is_semi_join(tokens, start):
        outer = None
    return Scope(_source(tokens, start, end), outer), start, end


def _is_semi_join(tokens: list[_Token], start: int) -> bool:
    """`WHERE Id IN (SELECT AccountId FROM Contact)`: the subquery reads an object of
    its own, not a child relationship of the outer one."""
    return start >= 2 and tokens[start - 1].text == "(" and tokens[start - 2].upper == "IN"


def _clause(tokens: list[_Token], start: int, upto: int) -> tuple[str, _Token | None]:
    """The clause holding token index `upto` and the token just before it (same depth)."""
    depth = tokens[start].depth if start < len(tokens) else 0
    clause = "select"
    previous: _Token | None = None
    for index in range(start, upto):
        token = tokens[index]
        if token.depth != depth:
            previous = token
            continue
        clause = _CLAUSE_STARTS.get(token.upper, clause) if token.kind == "name" else clause
        previous = token
    return clause, previous


# Keywords after which a name (not another keyword) comes next.
_OPENERS = frozenset({"SELECT", "WHERE", "AND", "OR", "NOT", "BY", "HAVING", "FROM", "IN"})

_PICKLIST_BEFORE = re.compile(
    r"""(?P<field>[A-Za-z_][\w.]*)\s*
        (?:=|!=|<>|\b(?:NOT\s+)?IN\s*\(|\bINCLUDES\s*\(|\bEXCLUDES\s*\()
        (?:\s*'(?:[^'\\]|\\.)*'\s*,)*\s*'(?P<fragment>(?:[^'\\]|\\.)*)$""",
    re.IGNORECASE | re.VERBOSE,
)


def locate(soql: str, cursor: int) -> Spot | None:
    """The `Spot` at `cursor` in `soql`, or None where nothing can be completed."""
    cursor = max(0, min(cursor, len(soql)))
    tokens = _tokens(soql)
    before = soql[:cursor]
    scope, start, _end = _scope_at(tokens, cursor)

    # Inside a string literal: a picklist value, or nothing.
    at = [t for t in tokens if t.start < cursor <= t.end or (t.start < cursor and t.end == cursor)]
    current = at[-1] if at else None
    if (
        current is not None
        and current.kind == "string"
        and not (current.end == cursor and len(current.text) > 1 and current.text.endswith("'"))
    ):
        match = _PICKLIST_BEFORE.search(before)
        if match is None:
            return None
        clause, _ = _clause(tokens, start, tokens.index(current))
        return Spot(
            Kind.PICKLIST_VALUE,
            match["fragment"],
            scope,
            picklist_field=match["field"],
            clause=clause,
        )

    if current is not None and current.kind == "bind" and current.end == cursor:
        return Spot(Kind.PLACEHOLDER, current.text[1:], scope)

    fragment = ""
    if current is not None and current.kind == "name":
        # At the end of a name or inside it: what is before the cursor is the fragment.
        fragment = current.text[: cursor - current.start]
        index = tokens.index(current)
    else:
        if before and not before[-1].isspace() and before[-1] not in "(,=<>":
            return None  # right after a number, a closing quote or parenthesis
        index = next((i for i, t in enumerate(tokens) if t.start >= cursor), len(tokens))
    index = max(index, start)
    clause, previous = _clause(tokens, start, index)

    if (
        previous is not None
        and previous.upper == "FROM"
        and previous.depth == (tokens[start].depth if start < len(tokens) else 0)
    ):
        kind = Kind.CHILD_RELATIONSHIP if scope.is_subquery else Kind.OBJECT
        return Spot(kind, fragment, scope, clause="from")

    *path, last = fragment.split(".") if fragment else [""]
    keywords = _keywords_after(clause, previous, bool(path))
    if clause in ("select", "where", "group", "order") and not _after_finished_name(
        previous, clause
    ):
        return Spot(Kind.FIELD, last, scope, tuple(path), keywords=keywords, clause=clause)
    if path:
        return Spot(Kind.FIELD, last, scope, tuple(path), clause=clause)
    return Spot(Kind.KEYWORD, last, scope, keywords=keywords, clause=clause)


def _after_finished_name(previous: _Token | None, clause: str) -> bool:
    """A name right after another name: in SELECT that is `Name FROM`, in WHERE
    `Name LIKE`, in ORDER BY `Name DESC`: a keyword is next, not another field."""
    if previous is None or previous.kind not in ("name", "string", "number", "bind"):
        return False
    if previous.kind == "name" and previous.upper in _OPENERS:
        return False
    return clause in ("select", "where", "group", "order")


def _keywords_after(clause: str, previous: _Token | None, in_path: bool) -> tuple[str, ...]:
    if in_path:
        return ()
    prev = previous.upper if previous is not None else ""
    value_like = (
        previous is not None
        and previous.kind in ("name", "string", "number", "bind")
        and prev not in _OPENERS
    )
    if clause == "select":
        if prev in ("SELECT", ",", "("):
            return (*AGGREGATE_FUNCTIONS, *DATE_FUNCTIONS, *_SELECT_FUNCTIONS)
        return ("FROM",) if value_like else ()
    if clause == "from":
        return ("WHERE", "WITH", "GROUP BY", "ORDER BY", "LIMIT", "OFFSET", "USING SCOPE",
                "FOR VIEW", "FOR REFERENCE", "FOR UPDATE", "ALL ROWS")  # fmt: skip
    if clause == "where":
        if prev in ("=", "!=", "<>", "<", ">", "<=", ">="):
            return (*_DATE_LITERALS, "NULL", "TRUE", "FALSE")
        if value_like:
            return ("AND", "OR", "GROUP BY", "ORDER BY", "LIMIT", *_WHERE_KEYWORDS[3:])
        return ("NOT", *DATE_FUNCTIONS)
    if clause == "group":
        return ("HAVING", "ORDER BY", "LIMIT", "ROLLUP", "CUBE") if value_like else DATE_FUNCTIONS
    if clause == "order":
        return (*_ORDER_KEYWORDS, "LIMIT", "OFFSET") if value_like else ()
    if clause == "limit":
        return ("OFFSET", "FOR VIEW", "FOR UPDATE", "ALL ROWS") if value_like else ()
    return ()


_WORD = re.compile(r"[A-Za-z_][\w.]*")


def field_at(soql: str, cursor: int) -> tuple[str, Scope, str] | None:
    """The dotted name under the cursor (for inspection), its scope and clause."""
    cursor = max(0, min(cursor, len(soql)))
    for match in _WORD.finditer(soql):
        if match.start() <= cursor <= match.end():
            tokens = _tokens(soql)
            scope, start, _ = _scope_at(tokens, match.start())
            index = next((i for i, t in enumerate(tokens) if t.start >= match.start()), 0)
            clause, previous = _clause(tokens, start, index)
            if previous is not None and previous.upper == "FROM":
                return None
            # Inspect the segment under the cursor: `Account.Na|me` is Account.Name.
            name = match.group()
            cut = name.find(".", cursor - match.start())
            return (name if cut < 0 else name[:cut]), scope, clause
    return None
