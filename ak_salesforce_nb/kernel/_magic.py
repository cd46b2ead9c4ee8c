"""`%%soql` and `%soql`: SOQL cells that bind Python variables as data.

    %load_ext ak_salesforce_nb

    %%soql -c prod -o big
    SELECT Name, AnnualRevenue FROM Account WHERE AnnualRevenue > :threshold

    n = %soql SELECT COUNT() FROM Contact

Options (``%%soql?`` prints them): ``-c NAME`` the connection; ``-o VAR`` where the result
goes; ``--all`` deleted and archived rows too (queryAll); ``--bulk`` a Bulk API 2.0 job;
``--engine polars``; ``-q`` store without displaying; ``--explain`` the query plan
(leading operation, rows, relative cost, a warning on a table scan) instead of rows.

- ``:name`` placeholders take variables from the notebook's namespace and are bound as
  SOQL literals, never pasted as text (see `_soql_params`). IPython's own ``{var}``
  and ``$var`` expansion is switched off for the same reason.
- The result (a DataFrame; an int for ``SELECT COUNT() FROM …``) is the cell's output and
  is stored in ``-o VAR``, default ``_soql``: like IPython's ``_``, it always holds the
  last result, and its leading underscore keeps it out of the way of your own names.
- The connection is ``-c NAME``; else the one last named in this kernel (by ``%%soql -c``,
  ``aksf.session()``, ``aksf.async_session()``, ``aksf.connect()`` or ``aksf.explore()``,
  see `remember_connection`); else the store's only connection, when there is exactly one;
  else ``"default"``. One session per connection and store is kept for the kernel's life,
  so its describe cache and HTTP connections are reused.
- Without ``--bulk`` a result past the session's ``bulk_threshold`` rows switches to
  Bulk API 2.0 by itself (``method="auto"``).
- Under the result, one line of the org's API usage today (``Sforce-Limit-Info``); past
  ``%config SoqlMagics.api_usage_warning`` (default 0.8) of the daily limit, a warning.
  ``%config SoqlMagics.show_api_usage = False`` keeps only the warning.
- Errors show Salesforce's message and, for a query error at a row and column, the line
  of the cell with a caret under that column: text, not a traceback.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Float

from ..core._exceptions import SalesforceError, SalesforceNotebookError
from ._magic_line import last_connection, remember_connection, split_line
from ._soql_params import BoundQuery, SoqlParameterError, bind_query

__all__ = [
    "DEFAULT_OUTPUT",
    "SoqlMagics",
    "last_connection",
    "register_magics",
    "remember_connection",
    "render_error",
]

DEFAULT_OUTPUT = "_soql"
_COUNT_ONLY = re.compile(r"^\s*SELECT\s+COUNT\(\s*\)\s+FROM\b", re.IGNORECASE)
_POSITION = re.compile(r"ERROR at Row:(\d+):Column:(\d+)")


def _only_connection() -> str | None:
    from ..core._store import ConnectionStore

    try:
        names = [c.name for c in ConnectionStore().list_connections()]
    except SalesforceNotebookError:
        return None  # an unreadable store: the session will say why
    return names[0] if len(names) == 1 else None


# -- error text -----------------------------------------------------------------------


def _caret_lines(source: str, offset: int) -> list[str]:
    """The line of `source` holding `offset`, numbered, with a caret under it."""
    offset = min(max(offset, 0), len(source))
    row = source.count("\n", 0, offset) + 1
    start = source.rfind("\n", 0, offset) + 1
    end = source.find("\n", offset)
    line = source[start : end if end >= 0 else len(source)]
    gutter = f"{row:>4} | "
    pad = "".join(c if c == "\t" else " " for c in line[: offset - start])
    return [gutter + line, " " * (len(gutter) - 2) + "| " + pad + "^"]


def _sent_offset(sent: str, row: int, column: int) -> int:
    """Offset in `sent` of Salesforce's 1-based Row and Column."""
    start = 0
    for _ in range(row - 1):
        found = sent.find("\n", start)
        if found < 0:
            break
        start = found + 1
    return start + column - 1


def render_error(error: Exception, bound: BoundQuery | None, source: str, lead: int = 0) -> str:
    """A short text for `error`, pointing into `source` (the cell) where it can.

    `bound` is the query as sent (None if binding failed) and `lead` the characters
    stripped from the front of `source` before binding.
    """
    name = type(error).__name__
    if isinstance(error, SoqlParameterError):
        lines = [f"{name}: {error}"]
        if error.offset is not None:
            lines += _caret_lines(source, error.offset + lead)
        return "\n".join(lines)
    if not isinstance(error, SalesforceError):
        return f"{name}: {error}"
    message = error.message.strip("\n")
    code = f" ({error.error_code})" if error.error_code else ""
    match = _POSITION.search(message)
    if match is None or bound is None:
        return f"{name}{code}: {message}"
    # Salesforce's message repeats its own copy of the line and a caret above
    # "ERROR at Row…"; the text after it is the reason. Point into the cell instead.
    detail = message[match.end() :].strip() or message[: match.start()].strip()
    offset = _sent_offset(bound.text, int(match[1]), int(match[2]))
    where = bound.source_offset(offset) + lead
    return "\n".join([f"{name}{code}: {detail}", *_caret_lines(source, where)])


def _show_as_text(error: Exception, text: str) -> Exception:
    # IPython calls `_render_traceback_` instead of printing a traceback, so the cell
    # shows our few lines, and the cell still fails (Run All stops, nbclient raises).
    lines = text.splitlines()
    error._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
    return error


# -- the magic --------------------------------------------------------------------------


@magics_class
class SoqlMagics(Magics):
    """``%%soql`` / ``%soql`` (see the module docstring)."""

    #: Share of the org's daily API requests past which a cell warns (``%config``).
    api_usage_warning = Float(
        0.8,
        help="Warn under a %%soql cell once the org has used this share of its daily API "
        "requests (0.8: 80 %).",
    ).tag(config=True)
    #: Show the API usage line under every cell, not only past the warning.
    show_api_usage = Bool(True, help="Show the org's API usage under each cell.").tag(config=True)

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        #: Sessions by (store path, connection name), for the kernel's life.
        self.sessions: dict[tuple[str, str], Any] = {}

    def connection_name(self, requested: str | None) -> str:
        return requested or last_connection() or _only_connection() or "default"

    def session(self, name: str) -> Any:
        """The kernel's session on `name` (in the current store), made on first use."""
        from ..core._store import default_store_path
        from ._session import Session

        key = (str(default_store_path()), name)
        if key not in self.sessions:
            self.sessions[key] = Session(name)
        return self.sessions[key]

    @magic_arguments()
    @argument("-c", "--connection", help="connection name (default: the last one used)")
    @argument("-o", "--output", default=DEFAULT_OUTPUT, help="variable for the result (_soql)")
    @argument("--all", action="store_true", help="include deleted and archived rows (queryAll)")
    @argument("--bulk", action="store_true", help="run as a Bulk API 2.0 query job")
    @argument("--engine", choices=("pandas", "polars"), default="pandas", help="DataFrame kind")
    @argument("-q", "--quiet", action="store_true", help="store the result without showing it")
    @argument(
        "--explain", action="store_true", help="show the query plan instead of running the query"
    )
    @argument("query", nargs="*", help="the SOQL (line magic); the cell body for %%%%soql")
    @no_var_expand
    @line_cell_magic
    def soql(self, line: str, cell: str | None = None) -> Any:
        """Run SOQL on a Salesforce connection; `:name` binds the variable `name`."""
        if cell is None:
            options, text = split_line(line)
        else:
            options, text = line, cell
        args = parse_argstring(self.soql, options)
        if args.query:
            raise UsageError("%%soql takes the query in the cell body, not on its first line.")
        lead = len(text) - len(text.lstrip())
        body = text.strip()
        if body.endswith(";"):  # a habit from SQL that SOQL refuses
            body = body[:-1].rstrip()
        if not body:
            raise UsageError("Nothing to run: write a SOQL query.")
        shell = self.shell
        assert shell is not None  # a registered magic always has its shell
        name = self.connection_name(args.connection)
        bound: BoundQuery | None = None
        try:
            bound = bind_query(body, shell.user_ns)
            session = self.session(name)
            if args.explain:
                result = session.explain(bound.text)
            else:
                result = self._run(session, bound.text, args)
        except SalesforceNotebookError as error:
            raise _show_as_text(error, render_error(error, bound, text, lead)) from None
        remember_connection(name)
        shell.user_ns[args.output] = result
        if not args.quiet:
            self._report_usage(session)
        return None if args.quiet else result

    def _report_usage(self, session: Any) -> None:
        """One line of the org's API usage under the cell; a warning past
        `api_usage_warning` of the daily limit."""
        from ._explain import parse_api_usage

        usage = parse_api_usage(getattr(session, "last_limit_info", ""))
        if usage is None:
            return
        if usage.share >= self.api_usage_warning:
            print(
                f"Warning: {usage}: past {self.api_usage_warning:.0%} of the org's daily "
                "limit. Bulk API 2.0 (--bulk) uses fewer requests for big results.",
                file=sys.stderr,
            )
        elif self.show_api_usage:
            print(usage)

    @staticmethod
    def _run(session: Any, soql: str, args: Any) -> Any:
        if _COUNT_ONLY.match(soql) and not args.bulk:
            # COUNT() answers a number, not rows: give the number.
            answer = session.get("queryAll" if args.all else "query", params={"q": soql})
            return int(answer["totalSize"])
        method = "bulk" if args.bulk else "auto"
        return session.query(soql, include_deleted=args.all, method=method, engine=args.engine)


def register_magics(ipython: Any) -> None:
    """Register `SoqlMagics` on `ipython` (``%load_ext ak_salesforce_nb``), and SOQL
    completion and inspection (see `_soql_completer`)."""
    from ._soql_completer import register
    from ._sosl_magic import SoslMagics

    ipython.register_magics(SoqlMagics)
    ipython.register_magics(SoslMagics)  # %%sosl shares SoqlMagics' sessions
    register(ipython)
