# IPython's magic decorators are untyped (as for kernel/_magic in pyproject.toml).
# mypy: disable-error-code="no-untyped-call,untyped-decorator"
"""`%%sosl` and `%sosl`: SOSL search cells, one DataFrame per object.

    %load_ext ak_salesforce_nb

    %%sosl -c prod -o hits
    FIND {Acme*} IN NAME FIELDS
    RETURNING Account(Name, Industry), Contact(Name, Email)

    hits["Account"]

Options (``%%sosl?`` prints them): ``-c NAME`` the connection (default: the one
``%%soql`` would use, see `_magic`); ``-o VAR`` where the result goes (default
``_sosl``); ``-q`` store without displaying. The result is a `SearchResult`: a dict of
DataFrames per object that shows as one small table per object. IPython's ``{var}``
expansion is off: SOSL's own braces (``FIND {term}``) reach Salesforce as written.
Errors show Salesforce's message as text, not a traceback.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..core._exceptions import SalesforceNotebookError

__all__ = ["DEFAULT_OUTPUT", "SoslMagics"]

DEFAULT_OUTPUT = "_sosl"


def _soql_magics(shell: Any) -> Any:
    """The kernel's `SoqlMagics`, whose sessions (one per connection) `%%sosl` shares."""
    manager = getattr(shell, "magics_manager", None)
    registry = getattr(manager, "registry", {}) if manager is not None else {}
    return registry.get("SoqlMagics")


@magics_class
class SoslMagics(Magics):
    """``%%sosl`` / ``%sosl`` (see the module docstring)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.sessions: dict[tuple[str, str], Any] = {}

    def _session(self, requested: str | None) -> tuple[str, Any]:
        soql = _soql_magics(self.shell)
        if soql is not None:
            name = soql.connection_name(requested)
            return name, soql.session(name)
        from ..core._store import default_store_path
        from ._magic_line import last_connection
        from ._session import Session

        name = requested or last_connection() or "default"
        key = (str(default_store_path()), name)
        if key not in self.sessions:
            self.sessions[key] = Session(name)
        return name, self.sessions[key]

    @magic_arguments()
    @argument("-c", "--connection", help="connection name (default: the last one used)")
    @argument("-o", "--output", default=DEFAULT_OUTPUT, help="variable for the result (_sosl)")
    @argument("-q", "--quiet", action="store_true", help="store the result without showing it")
    @argument("search", nargs="*", help="the SOSL (line magic); the cell body for %%%%sosl")
    @no_var_expand
    @line_cell_magic
    def sosl(self, line: str, cell: str | None = None) -> Any:
        """Run a SOSL search on a Salesforce connection: one DataFrame per object."""
        if cell is None:
            from ._magic_line import split_line

            options, text = split_line(line)
        else:
            options, text = line, cell
        args = parse_argstring(self.sosl, options)
        if args.search:
            raise UsageError("%%sosl takes the search in the cell body, not on its first line.")
        body = text.strip().removesuffix(";").rstrip()
        if not body:
            raise UsageError(
                "Nothing to run: write a SOSL search, e.g. FIND {Acme} RETURNING Account(Name)."
            )
        shell = self.shell
        assert shell is not None  # a registered magic always has its shell
        try:
            name, session = self._session(args.connection)
            result = session.search(body)
        except SalesforceNotebookError as error:
            raise _show_as_text(error) from None
        from ._magic_line import remember_connection

        remember_connection(name)
        shell.user_ns[args.output] = result
        return None if args.quiet else result


def _show_as_text(error: Exception) -> Exception:
    """The cell fails with Salesforce's message as a few lines, not a traceback."""
    from ..core._exceptions import SalesforceError

    if isinstance(error, SalesforceError):
        code = f" ({error.error_code})" if error.error_code else ""
        text = f"{type(error).__name__}{code}: {error.message}"
    else:
        text = f"{type(error).__name__}: {error}"
    lines = text.splitlines()
    error._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
    return error
