"""`%%soql` and `%soql`: SOQL cells that bind Python variables safely.

    %load_ext ak_salesforce_nb

    %%soql -c prod -o big
    SELECT Name, AnnualRevenue FROM Account WHERE AnnualRevenue > :threshold

`:name` placeholders take variables from the notebook's namespace and are bound as data
(see `_soql_params`). The result is the cell's output, and is stored in `-o VAR`
(default `_soql`). The connection is `-c NAME`, else the last one a `%%soql` used in this
kernel, else the only connection in the store, else "default". `--all` includes deleted
rows (queryAll); `--bulk` runs a Bulk API 2.0 job.
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ._exceptions import SalesforceError, SalesforceNotebookError
from ._soql_params import bind

__all__ = ["SoqlMagics", "register_magics"]

DEFAULT_OUTPUT = "_soql"


@magics_class
class SoqlMagics(Magics):
    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._sessions: dict[str, Any] = {}
        self.last_connection: str | None = None

    def _connection_name(self, requested: str | None) -> str:
        if requested:
            return requested
        if self.last_connection:
            return self.last_connection
        from ._store import ConnectionStore

        names = [c.name for c in ConnectionStore().list_connections()]
        return names[0] if len(names) == 1 else "default"

    def session(self, name: str) -> Any:
        if name not in self._sessions:
            from ._session import Session

            self._sessions[name] = Session(name)
        return self._sessions[name]

    @magic_arguments()
    @argument("-c", "--connection", help="the connection to query (default: the last used)")
    @argument("-o", "--output", default=DEFAULT_OUTPUT, help="variable to store the result in")
    @argument("--all", action="store_true", help="include deleted and archived rows")
    @argument("--bulk", action="store_true", help="run as a Bulk API 2.0 query job")
    @argument("soql", nargs="*", help="the query (line magic); the cell body otherwise")
    @line_cell_magic
    def soql(self, line: str, cell: str | None = None) -> Any:
        """Run SOQL against a Salesforce connection; the result is a DataFrame."""
        args = parse_argstring(self.soql, line)
        shell = self.shell
        assert shell is not None  # a registered magic always has its shell
        text = cell if cell is not None else " ".join(args.soql)
        if not text.strip():
            print("Nothing to run: write a SOQL query.", file=sys.stderr)
            return None
        name = self._connection_name(args.connection)
        try:
            query = bind(text.strip(), shell.user_ns)
            session = self.session(name)
            method = "bulk" if args.bulk else "rest"
            frame = session.query(query, include_deleted=args.all, method=method)
        except SalesforceError as exc:
            print(_explain(exc, text), file=sys.stderr)
            return None
        except SalesforceNotebookError as exc:
            print(str(exc), file=sys.stderr)
            return None
        self.last_connection = name
        shell.user_ns[args.output] = frame
        return frame


def _explain(exc: SalesforceError, query: str) -> str:
    """Salesforce's message, which for query errors already points at the column."""
    head = f"Salesforce says {exc.error_code or 'error'} (HTTP {exc.status_code}):"
    return f"{head}\n{exc.message}"


def register_magics(ipython: Any) -> None:
    ipython.register_magics(SoqlMagics)
