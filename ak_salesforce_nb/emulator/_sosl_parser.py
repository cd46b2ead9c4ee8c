"""SOSL syntax: ``FIND {terms} [IN ... FIELDS] [RETURNING Object(fields ...), ...] [LIMIT n]``.

The search expression (between braces) becomes a small boolean tree of terms; each
RETURNING object keeps the text of its field list and of its WHERE/ORDER BY/LIMIT/OFFSET
clauses, which the search runs through the SOQL engine. Offsets point into the SOSL text so
errors carry Salesforce's "ERROR at Row:R:Column:C" caret message.
"""

from __future__ import annotations

import dataclasses
import re

from ._soql_parser import SoqlError, Token, tokenize

__all__ = [
    "SEARCH_GROUPS",
    "Returning",
    "SearchQuery",
    "SoslError",
    "Term",
    "TermExpr",
    "parse_search",
    "parse_terms",
]

#: The ``IN ... FIELDS`` scopes (SIDEBAR searches names and a few more, like ALL here).
SEARCH_GROUPS = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
_CLAUSE_WORDS = frozenset({"WHERE", "ORDER", "LIMIT", "OFFSET", "USING", "WITH"})


class SoslError(SoqlError):
    """A search Salesforce would reject (MALFORMED_SEARCH, INVALID_FIELD...)."""


@dataclasses.dataclass
class Term:
    """One word or quoted phrase; ``*`` and ``?`` are wildcards."""

    text: str
    phrase: bool = False


@dataclasses.dataclass
class TermExpr:
    """``AND``/``OR``/``AND NOT`` over terms (``NOT`` items are excluded)."""

    operator: str  # AND OR
    items: list[Term | TermExpr]
    excluded: list[Term | TermExpr] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Returning:
    """One ``RETURNING`` object: its field list and clauses as SOQL text, with offsets."""

    sobject: str
    offset: int
    fields: str = ""
    fields_offset: int = 0
    clauses: str = ""
    clauses_offset: int = 0


@dataclasses.dataclass
class SearchQuery:
    terms: Term | TermExpr
    group: str = "ALL"
    returning: list[Returning] = dataclasses.field(default_factory=list)
    limit: int | None = None
    text: str = ""


def _malformed(detail: str, offset: int | None = None) -> SoslError:
    return SoslError("MALFORMED_SEARCH", detail, offset)


_TERM_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|(\()|(\))|([^\s()"]+)')


def parse_terms(text: str) -> Term | TermExpr:
    """The boolean tree of a search expression such as ``acme AND (corp OR inc*)``."""
    tokens: list[tuple[str, str]] = []
    for match in _TERM_RE.finditer(text):
        phrase, opening, closing, word = match.groups()
        if phrase is not None:
            tokens.append(("PHRASE", re.sub(r"\\(.)", r"\1", phrase)))
        elif opening:
            tokens.append(("(", "("))
        elif closing:
            tokens.append((")", ")"))
        else:
            upper = word.upper()
            kind = upper if upper in ("AND", "OR", "NOT") else "WORD"
            tokens.append((kind, re.sub(r"\\(.)", r"\1", word)))
    position = 0

    def expression() -> Term | TermExpr:
        nonlocal position
        items = [conjunction()]
        while position < len(tokens) and tokens[position][0] == "OR":
            position += 1
            items.append(conjunction())
        return items[0] if len(items) == 1 else TermExpr("OR", items)

    def conjunction() -> Term | TermExpr:
        nonlocal position
        items = [primary()]
        excluded: list[Term | TermExpr] = []
        while position < len(tokens) and tokens[position][0] not in ("OR", ")"):
            kind = tokens[position][0]
            if kind == "AND":
                position += 1
                if position < len(tokens) and tokens[position][0] == "NOT":
                    position += 1
                    excluded.append(primary())
                    continue
            elif kind == "NOT":
                position += 1
                excluded.append(primary())
                continue
            items.append(primary())  # words side by side must all match
        if len(items) == 1 and not excluded:
            return items[0]
        return TermExpr("AND", items, excluded)

    def primary() -> Term | TermExpr:
        nonlocal position
        if position >= len(tokens):
            raise _malformed("Search term is incomplete: an operator needs a term after it.")
        kind, value = tokens[position]
        position += 1
        if kind == "(":
            inner = expression()
            if position >= len(tokens) or tokens[position][0] != ")":
                raise _malformed("Unbalanced parentheses in the search term.")
            position += 1
            return inner
        if kind in ("WORD", "PHRASE"):
            return Term(value, phrase=kind == "PHRASE")
        raise _malformed(f"Invalid search term: unexpected '{value}'.")

    if not tokens:
        raise _malformed("No search term found. The search term must be enclosed in braces.")
    tree = expression()
    if position != len(tokens):
        raise _malformed(f"Invalid search term: unexpected '{tokens[position][1]}'.")
    return tree


def _term_length(tree: Term | TermExpr) -> int:
    if isinstance(tree, Term):
        return len(tree.text.replace("*", "").replace("?", ""))
    return max(_term_length(item) for item in tree.items)


def _read_braces(text: str, start: int) -> tuple[str, int]:
    """The search expression in braces opening at ``start``; returns (expression, end)."""
    i = start + 1
    out: list[str] = []
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        if c == "}":
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise _malformed("No search term found. The search term must be enclosed in braces.", start)


class _Tokens:
    def __init__(self, text: str, base: int) -> None:
        self.tokens: list[Token] = []
        for token in tokenize(text):
            token.offset += base
            self.tokens.append(token)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        if token.kind != "EOF":
            self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.current.kind == "IDENT" and self.current.upper in words

    def unexpected(self) -> SoslError:
        token = self.current
        shown = token.text if token.kind == "EOF" else f"'{token.text}'"
        return _malformed(f"unexpected token: {shown}", token.offset)


def parse_search(text: str) -> SearchQuery:
    """Parse a SOSL statement; SoslError (MALFORMED_SEARCH) for a syntax error."""
    match = re.match(r"\s*FIND\s*", text, re.IGNORECASE)
    if match is None:
        raise _malformed("unexpected token: " + (text.split()[0] if text.split() else "<EOF>"), 0)
    brace = match.end()
    if brace >= len(text) or text[brace] != "{":
        raise _malformed("No search term found. The search term must be enclosed in braces.", brace)
    expression, end = _read_braces(text, brace)
    terms = parse_terms(expression)
    if _term_length(terms) < 2:
        raise _malformed("search term must be longer than one character", brace)
    query = SearchQuery(terms, text=text)
    try:
        tokens = _Tokens(text[end:], end)
    except SoqlError as error:
        raise _malformed(
            error.detail, None if error.offset is None else error.offset + end
        ) from None
    if tokens.is_word("IN"):
        tokens.advance()
        if not tokens.is_word(*SEARCH_GROUPS):
            raise tokens.unexpected()
        query.group = tokens.advance().upper
        if not tokens.is_word("FIELDS"):
            raise tokens.unexpected()
        tokens.advance()
    if tokens.is_word("RETURNING"):
        tokens.advance()
        query.returning.append(_returning(tokens, text))
        while tokens.current.kind == "COMMA":
            tokens.advance()
            query.returning.append(_returning(tokens, text))
    while tokens.is_word("WITH"):
        # WITH DIVISION/HIGHLIGHT/SNIPPET/SPELL_CORRECTION...: accepted, no effect here.
        tokens.advance()
        tokens.advance()
        while tokens.current.kind not in ("EOF",) and not tokens.is_word("WITH", "LIMIT"):
            tokens.advance()
    if tokens.is_word("LIMIT"):
        tokens.advance()
        token = tokens.current
        if token.kind != "NUMBER" or not token.text.isdigit():
            raise tokens.unexpected()
        tokens.advance()
        query.limit = int(token.text)
    if tokens.is_word("UPDATE"):
        tokens.advance()
        tokens.advance()
    if tokens.current.kind != "EOF":
        raise tokens.unexpected()
    return query


def _returning(tokens: _Tokens, text: str) -> Returning:
    token = tokens.current
    if token.kind != "IDENT":
        raise tokens.unexpected()
    tokens.advance()
    item = Returning(token.text, token.offset)
    if tokens.current.kind != "LPAREN":
        return item
    open_paren = tokens.advance()
    depth = 1
    split: int | None = None
    close = open_paren
    while True:
        current = tokens.current
        if current.kind == "EOF":
            raise tokens.unexpected()
        if current.kind == "LPAREN":
            depth += 1
        elif current.kind == "RPAREN":
            depth -= 1
            if depth == 0:
                close = tokens.advance()
                break
        elif (
            depth == 1
            and split is None
            and current.kind == "IDENT"
            and current.upper in _CLAUSE_WORDS
        ):
            split = current.offset
        tokens.advance()
    start = open_paren.offset + 1
    end = close.offset
    middle = split if split is not None else end
    item.fields = text[start:middle]
    item.fields_offset = start
    item.clauses = text[middle:end]
    item.clauses_offset = middle
    if not item.fields.strip():
        raise _malformed("unexpected token: " + (text[middle:end].split() or [")"])[0], start)
    return item
