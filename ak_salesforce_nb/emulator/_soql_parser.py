"""SOQL syntax: a tokenizer and a recursive-descent parser producing a small AST.

Only syntax is checked here (MALFORMED_QUERY); whether fields and objects exist is the
query compiler's job. Every node keeps the offset of its first character so that errors
can point at it with Salesforce's "ERROR at Row:R:Column:C" caret message.
"""

from __future__ import annotations

import dataclasses
import re

from .. import _soql_words as words

__all__ = [
    "LIKE_PERCENT",
    "LIKE_UNDERSCORE",
    "AggregateCall",
    "BoolOp",
    "Comparison",
    "Condition",
    "DateFunction",
    "FieldRef",
    "FieldsCall",
    "FormatAggregate",
    "FunctionField",
    "GroupingCall",
    "Literal",
    "Not",
    "OrderItem",
    "Query",
    "SelectItem",
    "SoqlError",
    "SubQuery",
    "Token",
    "TypeOf",
    "parse",
    "tokenize",
]

# Marks for the LIKE-only escapes \% and \_ inside decoded string literals.
LIKE_PERCENT = "\ue000"
LIKE_UNDERSCORE = "\ue001"


class SoqlError(Exception):
    """A query Salesforce would reject: an error code, a detail line, and a position."""

    def __init__(self, error_code: str, detail: str, offset: int | None = None) -> None:
        super().__init__(detail)
        self.error_code = error_code
        self.detail = detail
        self.offset = offset

    def message(self, text: str) -> str:
        """Salesforce's message: the query row, a caret under the column, then the detail."""
        if self.offset is None:
            return self.detail
        offset = min(max(self.offset, 0), len(text))
        row = text.count("\n", 0, offset) + 1
        line_start = text.rfind("\n", 0, offset) + 1
        line_end = text.find("\n", offset)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        column = offset - line_start + 1
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.detail}"


@dataclasses.dataclass
class Token:
    kind: str  # IDENT STRING NUMBER DATE DATETIME OP LPAREN RPAREN COMMA COLON EOF
    text: str
    offset: int
    value: object = None

    @property
    def upper(self) -> str:
        return self.text.upper()


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<colon>:)
    """,
    re.VERBOSE,
)

_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "%": LIKE_PERCENT,
    "_": LIKE_UNDERSCORE,
}


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Decode the string literal whose opening quote is at ``start``; return (value, end)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "'":
            return "".join(out), i + 1
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            literal = text[start:].split("'", 2)
            shown = "'" + (literal[1] if len(literal) > 1 else "") + "'"
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal {shown}. Illegal character sequence "
                f"'\\{nxt}' in string literal.",
                start,
            )
        out.append(c)
        i += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(text))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[position]}'", position)
        kind = match.lastgroup or ""
        if kind == "ws":
            position = match.end()
            continue
        if kind == "string":
            value, end = _read_string(text, position)
            tokens.append(Token("STRING", text[position:end], position, value))
            position = end
            continue
        token_text = match.group()
        tokens.append(Token(kind.upper(), token_text, position))
        position = match.end()
    tokens.append(Token("EOF", "<EOF>", len(text)))
    return tokens


# ----------------------------------------------------------------------------- AST


@dataclasses.dataclass
class FieldRef:
    path: list[str]
    offset: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclasses.dataclass
class AggregateCall:
    function: str  # COUNT COUNT_DISTINCT SUM AVG MIN MAX
    argument: FieldRef | None
    offset: int

    @property
    def text(self) -> str:
        return f"{self.function}({self.argument.text if self.argument else ''})"


@dataclasses.dataclass
class FunctionField(FieldRef):
    """``toLabel(f)``, ``FORMAT(f)`` or ``convertCurrency(f)``: a field read through a function.

    It is a FieldRef (the inner field's path) so that record queries treat it as the field
    it wraps; the answer's key is the alias when there is one, else the field's name.
    """

    function: str = ""  # TOLABEL FORMAT CONVERTCURRENCY
    inner: FunctionField | None = None  # FORMAT(convertCurrency(f))
    alias: str | None = None

    @property
    def text(self) -> str:
        inside = self.inner.text if self.inner is not None else ".".join(self.path)
        return f"{self.function}({inside})"


@dataclasses.dataclass
class TypeOf(FieldRef):
    """``TYPEOF What WHEN Account THEN Name, Phone ... ELSE Name END`` on a polymorphic field."""

    whens: list[tuple[str, int, list[FieldRef]]] = dataclasses.field(default_factory=list)
    otherwise: list[FieldRef] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class FieldsCall:
    kind: str  # ALL STANDARD CUSTOM
    offset: int


class DateFunction(AggregateCall):
    """``CALENDAR_YEAR(CloseDate)`` and the other date functions (GROUP BY, WHERE, SELECT).

    An AggregateCall, so a query selecting one is an aggregate query as in Salesforce.
    """

    def __init__(self, function: str, argument: FieldRef, offset: int, in_timezone: bool) -> None:
        super().__init__(function, argument, offset)
        self.in_timezone = in_timezone  # convertTimezone(f): the org's zone is GMT

    @property
    def text(self) -> str:
        inside = self.argument.text if self.argument else ""
        if self.in_timezone:
            inside = f"convertTimezone({inside})"
        return f"{self.function}({inside})"


class GroupingCall(AggregateCall):
    """``GROUPING(f)``: 1 on the subtotal rows of ROLLUP/CUBE where f is rolled up."""


class FormatAggregate(AggregateCall):
    """``FORMAT(SUM(Amount))``: an aggregate written as locale-formatted text."""

    @property
    def text(self) -> str:
        return f"FORMAT({super().text})"


@dataclasses.dataclass
class SubQuery:
    query: Query
    offset: int


@dataclasses.dataclass
class SelectItem:
    expr: FieldRef | AggregateCall | FieldsCall | SubQuery
    alias: str | None = None
    alias_offset: int = 0


@dataclasses.dataclass
class Literal:
    kind: str  # string number null boolean date datetime date_literal currency
    value: object
    offset: int
    argument: int | None = None  # the n of LAST_N_DAYS:n


@dataclasses.dataclass
class Comparison:
    left: FieldRef | AggregateCall
    operator: str  # = != < <= > >= LIKE IN NOT IN INCLUDES EXCLUDES
    value: Literal | list[Literal] | SubQuery
    offset: int


@dataclasses.dataclass
class BoolOp:
    operator: str  # AND OR
    items: list[Condition]


@dataclasses.dataclass
class Not:
    item: Condition


Condition = Comparison | BoolOp | Not


@dataclasses.dataclass
class OrderItem:
    expr: FieldRef | AggregateCall
    descending: bool = False
    nulls_last: bool = False


@dataclasses.dataclass
class Query:
    select: list[SelectItem]
    sobject: str
    sobject_offset: int
    alias: str | None = None
    count_only: bool = False
    where: Condition | None = None
    group_by: list[FieldRef | AggregateCall] = dataclasses.field(default_factory=list)
    #: "ROLLUP" or "CUBE" for GROUP BY ROLLUP(...)/CUBE(...), else None.
    group_kind: str | None = None
    having: Condition | None = None
    order_by: list[OrderItem] = dataclasses.field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    offset_position: int = 0
    text: str = ""


AGGREGATE_FUNCTIONS = frozenset(words.AGGREGATE_FUNCTIONS)
DATE_FUNCTIONS = frozenset(words.DATE_FUNCTIONS)
FIELD_FUNCTIONS = frozenset({"TOLABEL", "FORMAT", "CONVERTCURRENCY"})
#: Functions Salesforce knows that the emulator does not evaluate (answered as unsupported).
UNSUPPORTED_FUNCTIONS = frozenset({"DISTANCE", "GEOLOCATION"})
RESERVED = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "NULL",
        "TRUE",
        "FALSE",
        "GROUP",
        "BY",
        "HAVING",
        "ORDER",
        "ASC",
        "DESC",
        "NULLS",
        "LIMIT",
        "OFFSET",
        "INCLUDES",
        "EXCLUDES",
        "WITH",
        "FOR",
        "USING",
        "TYPEOF",
        "END",
        "ROLLUP",
        "CUBE",
    }
)
DATE_LITERALS = frozenset(words.DATE_LITERALS)
DATE_LITERALS_WITH_N = frozenset(words.DATE_LITERALS_WITH_N)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.current
        if token.kind != "EOF":
            self.index += 1
        return token

    def unexpected(self, token: Token | None = None) -> SoqlError:
        token = token or self.current
        shown = token.text if token.kind == "EOF" else f"'{token.text}'"
        return SoqlError("MALFORMED_QUERY", f"unexpected token: {shown}", token.offset)

    def is_keyword(self, *words: str) -> bool:
        return self.current.kind == "IDENT" and self.current.upper in words

    def expect_keyword(self, word: str) -> Token:
        if not self.is_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.current.kind != kind:
            raise self.unexpected()
        return self.advance()

    # -- grammar

    def parse_query(self, nested: bool) -> Query:
        self.expect_keyword("SELECT")
        select, count_only = self.parse_select_list(nested)
        self.expect_keyword("FROM")
        from_token = self.current
        if from_token.kind != "IDENT" or from_token.upper in RESERVED:
            raise self.unexpected()
        self.advance()
        query = Query(select, from_token.text, from_token.offset, count_only=count_only)
        if self.current.kind == "IDENT" and self.current.upper not in RESERVED:
            query.alias = self.advance().text
        if self.is_keyword("USING"):
            self.advance()
            self.expect_keyword("SCOPE")
            self.expect("IDENT")
        if self.is_keyword("WHERE"):
            self.advance()
            query.where = self.parse_condition()
        if self.is_keyword("WITH"):
            self.advance()
            self.expect("IDENT")  # WITH SECURITY_ENFORCED / USER_MODE: no effect here
        if self.is_keyword("GROUP"):
            self.advance()
            self.expect_keyword("BY")
            if self.current.upper in ("ROLLUP", "CUBE") and self.peek().kind == "LPAREN":
                query.group_kind = self.advance().upper
                self.advance()
                query.group_by = self.parse_group_items()
                self.expect("RPAREN")
            else:
                query.group_by = self.parse_group_items()
            if self.is_keyword("HAVING"):
                self.advance()
                query.having = self.parse_condition()
        if self.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            query.order_by.append(self.parse_order_item())
            while self.current.kind == "COMMA":
                self.advance()
                query.order_by.append(self.parse_order_item())
        if self.is_keyword("LIMIT"):
            self.advance()
            query.limit = self.parse_integer()
        if self.is_keyword("OFFSET"):
            query.offset_position = self.advance().offset
            query.offset = self.parse_integer()
        if self.is_keyword("FOR"):
            self.advance()
            if not self.is_keyword("VIEW", "REFERENCE", "UPDATE"):
                raise self.unexpected()
            self.advance()
        if nested:
            if self.current.kind != "RPAREN":
                raise self.unexpected()
        elif self.current.kind != "EOF":
            raise self.unexpected()
        return query

    def parse_group_items(self) -> list[FieldRef | AggregateCall]:
        items = [self.parse_group_item()]
        while self.current.kind == "COMMA":
            self.advance()
            items.append(self.parse_group_item())
        return items

    def parse_group_item(self) -> FieldRef | AggregateCall:
        if self.current.kind == "IDENT" and self.peek().kind == "LPAREN":
            call = self.parse_call()
            if not isinstance(call, DateFunction | FunctionField):
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Grouped field should not be aggregated: {call.text}",
                    call.offset,
                )
            return call
        return self.parse_field()

    def parse_integer(self) -> int:
        token = self.current
        if token.kind != "NUMBER" or not token.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def parse_select_list(self, nested: bool) -> tuple[list[SelectItem], bool]:
        if (
            self.is_keyword("COUNT")
            and self.peek().kind == "LPAREN"
            and self.peek(2).kind == "RPAREN"
        ):
            self.advance()
            self.advance()
            self.advance()
            if self.current.kind == "COMMA":
                raise self.unexpected()
            return [], True
        items = [self.parse_select_item(nested)]
        while self.current.kind == "COMMA":
            self.advance()
            items.append(self.parse_select_item(nested))
        return items, False

    def parse_select_item(self, nested: bool) -> SelectItem:
        token = self.current
        if token.kind == "LPAREN":
            if nested:
                raise self.unexpected()
            self.advance()
            start = self.current.offset
            subquery = self.parse_query(nested=True)
            subquery.text = self.text[start : self.current.offset]
            self.expect("RPAREN")
            return SelectItem(SubQuery(subquery, token.offset))
        if token.kind == "IDENT" and token.upper == "TYPEOF":
            return SelectItem(self.parse_typeof())
        if token.kind != "IDENT" or token.upper in RESERVED:
            raise self.unexpected()
        if self.peek().kind == "LPAREN":
            name = token.upper
            if name == "FIELDS":
                self.advance()
                self.advance()
                kind_token = self.expect("IDENT")
                if kind_token.upper not in ("ALL", "STANDARD", "CUSTOM"):
                    raise self.unexpected(kind_token)
                self.expect("RPAREN")
                return SelectItem(FieldsCall(kind_token.upper, token.offset))
            call = self.parse_call()
            item = self.with_alias(SelectItem(call))
            if isinstance(call, FunctionField):
                # Record queries take aliases only on these functions; kept on the node.
                call.alias, item.alias = item.alias, None
            return item
        return self.with_alias(SelectItem(self.parse_field()))

    def with_alias(self, item: SelectItem) -> SelectItem:
        if self.current.kind == "IDENT" and self.current.upper not in RESERVED:
            alias = self.advance()
            item.alias = alias.text
            item.alias_offset = alias.offset
        return item

    def parse_aggregate(self) -> AggregateCall:
        token = self.advance()
        if token.upper not in AGGREGATE_FUNCTIONS:
            raise SoqlError("MALFORMED_QUERY", f"Unknown function: {token.text}", token.offset)
        self.expect("LPAREN")
        argument: FieldRef | None = None
        if self.current.kind != "RPAREN":
            argument = self.parse_field()
        elif token.upper != "COUNT":
            raise self.unexpected()
        self.expect("RPAREN")
        return AggregateCall(token.upper, argument, token.offset)

    def parse_call(self) -> FieldRef | AggregateCall:
        """A function call: aggregate, date function, GROUPING, toLabel/FORMAT/convertCurrency."""
        token = self.current
        name = token.upper
        if name in AGGREGATE_FUNCTIONS:
            return self.parse_aggregate()
        if name in UNSUPPORTED_FUNCTIONS:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"{token.text}() is not supported by the emulator",
                token.offset,
            )
        self.advance()
        self.expect("LPAREN")
        if name in DATE_FUNCTIONS:
            in_timezone = False
            if self.is_keyword("CONVERTTIMEZONE") and self.peek().kind == "LPAREN":
                self.advance()
                self.advance()
                in_timezone = True
                argument = self.parse_field()
                self.expect("RPAREN")
            else:
                argument = self.parse_field()
            self.expect("RPAREN")
            return DateFunction(name, argument, token.offset, in_timezone)
        if name == "GROUPING":
            argument = self.parse_field()
            self.expect("RPAREN")
            return GroupingCall("GROUPING", argument, token.offset)
        if name in FIELD_FUNCTIONS:
            if self.current.kind == "IDENT" and self.peek().kind == "LPAREN":
                inner = self.parse_call()
                self.expect("RPAREN")
                if (
                    name == "FORMAT"
                    and isinstance(inner, AggregateCall)
                    and not isinstance(inner, DateFunction | GroupingCall)
                ):
                    return FormatAggregate(inner.function, inner.argument, inner.offset)
                if name == "FORMAT" and isinstance(inner, FunctionField):
                    if inner.function != "CONVERTCURRENCY":
                        raise self.unexpected(token)
                    return FunctionField(list(inner.path), token.offset, name, inner)
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid argument of {token.text}(): {inner.text}",
                    inner.offset,
                )
            field = self.parse_field()
            self.expect("RPAREN")
            return FunctionField(field.path, token.offset, name)
        raise SoqlError("MALFORMED_QUERY", f"Unknown function: {token.text}", token.offset)

    def parse_typeof(self) -> TypeOf:
        start = self.advance()
        field = self.parse_field()
        node = TypeOf(field.path, start.offset)
        if not self.is_keyword("WHEN"):
            raise self.unexpected()
        while self.is_keyword("WHEN"):
            self.advance()
            type_token = self.expect("IDENT")
            self.expect_keyword("THEN")
            node.whens.append((type_token.text, type_token.offset, self.parse_field_list()))
        if self.is_keyword("ELSE"):
            self.advance()
            node.otherwise = self.parse_field_list()
        self.expect_keyword("END")
        return node

    def parse_field_list(self) -> list[FieldRef]:
        fields = [self.parse_field()]
        while self.current.kind == "COMMA":
            self.advance()
            fields.append(self.parse_field())
        return fields

    def parse_field(self) -> FieldRef:
        token = self.current
        if token.kind != "IDENT" or token.upper in RESERVED:
            raise self.unexpected()
        self.advance()
        return FieldRef(token.text.split("."), token.offset)

    def parse_order_item(self) -> OrderItem:
        expr: FieldRef | AggregateCall
        if self.peek().kind == "LPAREN" and self.current.kind == "IDENT":
            expr = self.parse_call()
        else:
            expr = self.parse_field()
        item = OrderItem(expr)
        if self.is_keyword("ASC", "DESC"):
            item.descending = self.advance().upper == "DESC"
        if self.is_keyword("NULLS"):
            self.advance()
            if not self.is_keyword("FIRST", "LAST"):
                raise self.unexpected()
            item.nulls_last = self.advance().upper == "LAST"
        return item

    # -- conditions

    def parse_condition(self) -> Condition:
        first = self.parse_condition_term()
        if not self.is_keyword("AND", "OR"):
            return first
        operator = self.current.upper
        items = [first]
        while self.is_keyword("AND", "OR"):
            if self.current.upper != operator:
                # SOQL needs parentheses to mix AND and OR.
                raise self.unexpected()
            self.advance()
            items.append(self.parse_condition_term())
        return BoolOp(operator, items)

    def parse_condition_term(self) -> Condition:
        if self.is_keyword("NOT"):
            self.advance()
            return Not(self.parse_condition_term())
        if self.current.kind == "LPAREN":
            self.advance()
            condition = self.parse_condition()
            self.expect("RPAREN")
            return condition
        return self.parse_comparison()

    def parse_comparison(self) -> Comparison:
        start = self.current
        left: FieldRef | AggregateCall
        if self.current.kind == "IDENT" and self.peek().kind == "LPAREN":
            left = self.parse_call()
        else:
            left = self.parse_field()
        token = self.current
        if token.kind == "OP":
            self.advance()
            operator = "!=" if token.text == "<>" else token.text
            return Comparison(left, operator, self.parse_value(), start.offset)
        if self.is_keyword("LIKE"):
            self.advance()
            return Comparison(left, "LIKE", self.parse_value(), start.offset)
        if self.is_keyword("NOT") and self.peek().kind == "IDENT" and self.peek().upper == "IN":
            self.advance()
            self.advance()
            return Comparison(left, "NOT IN", self.parse_value_list(), start.offset)
        if self.is_keyword("IN", "INCLUDES", "EXCLUDES"):
            operator = self.advance().upper
            return Comparison(left, operator, self.parse_value_list(), start.offset)
        raise self.unexpected()

    def parse_value_list(self) -> list[Literal] | SubQuery:
        open_paren = self.expect("LPAREN")
        if self.is_keyword("SELECT"):
            start = self.current.offset
            subquery = self.parse_query(nested=True)
            subquery.text = self.text[start : self.current.offset]
            self.expect("RPAREN")
            return SubQuery(subquery, open_paren.offset)
        values = [self.parse_value()]
        while self.current.kind == "COMMA":
            self.advance()
            values.append(self.parse_value())
        self.expect("RPAREN")
        return values

    def parse_value(self) -> Literal:
        token = self.current
        kind = token.kind
        if kind == "STRING":
            self.advance()
            return Literal("string", token.value, token.offset)
        if kind == "NUMBER":
            self.advance()
            text = token.text
            number: float | int = float(text) if "." in text else int(text)
            return Literal("number", number, token.offset)
        if kind == "DATE":
            self.advance()
            return Literal("date", token.text, token.offset)
        if kind == "DATETIME":
            self.advance()
            return Literal("datetime", token.text, token.offset)
        if kind == "IDENT":
            word = token.upper
            if word == "NULL":
                self.advance()
                return Literal("null", None, token.offset)
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", token.offset)
            if word in DATE_LITERALS:
                self.advance()
                return Literal("date_literal", word, token.offset)
            if re.fullmatch(r"[A-Z]{3}\d+", word):
                # An amount in a currency (multi-currency orgs): USD5000, EUR1500.50.
                self.advance()
                text = token.text[3:]
                after = self.current
                if (
                    after.kind == "NUMBER"
                    and after.text.startswith(".")
                    and (after.offset == token.offset + len(token.text))
                ):
                    text += self.advance().text
                return Literal("currency", (word[:3], float(text)), token.offset)
            if word in DATE_LITERALS_WITH_N:
                self.advance()
                self.expect("COLON")
                n_token = self.current
                if n_token.kind != "NUMBER" or not n_token.text.isdigit():
                    raise self.unexpected()
                self.advance()
                return Literal("date_literal", word, token.offset, int(n_token.text))
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse one SOQL statement; raise SoqlError (MALFORMED_QUERY) on a syntax error."""
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(text))
    parser = _Parser(text)
    query = parser.parse_query(nested=False)
    query.text = text
    return query
