"""The ``scrub`` sub-command: arguments, the report it prints, its exit status.

Exit status: 0 when every notebook is clean (after writing, or already); 1 when a secret
stays in a cell's source (scrub never rewrites one), or with ``--check`` when a notebook
would change; 2 when a file is not a notebook it can read. The report names the notebook,
the cell and the kind of what was found, never the text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from ._scrub import NotebookError, ScrubResult, scrub_file

__all__ = ["add_arguments", "run"]

DESCRIPTION = (
    "Make notebooks safe to share: remove saved widget state and widget views, and "
    "replace token-, secret- and auth-URL-shaped strings in outputs and metadata with "
    "[REDACTED <kind>]. A cell's source is never rewritten: a secret in one is reported "
    "(cell and kind) and the command fails."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK", help=".ipynb files")
    parser.add_argument(
        "--redact",
        action="store_true",
        help="also hide e-mail addresses (usernames) and instance hosts (*.my.salesforce.com)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="report what would change and fail if anything would, writing nothing",
    )


def _report(result: ScrubResult, *, check: bool, out: TextIO, err: TextIO) -> None:
    verb = "would remove" if check else "removed"
    for finding in result.removed:
        print(f"{result.path}: {verb} {finding.describe()}", file=out)
    for finding in result.remaining:
        print(
            f"{result.path}: SECRET LEFT IN {finding.describe()}. scrub never rewrites a "
            "cell's source: take it out of the cell (read it from an AK_SALESFORCE_NB_* "
            "environment variable or a connection name instead), revoke it in Salesforce, "
            "and run scrub again.",
            file=err,
        )
    if result.changed and not result.removed:
        # Only the layout differed from what the notebook's own writer would produce.
        print(f"{result.path}: {verb} nothing secret; rewritten in its own format", file=out)


def run(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    status = 0
    for path in args.notebooks:
        try:
            result = scrub_file(path, redact=args.redact, check=args.check)
        except NotebookError as error:
            print(f"error: {error}", file=err)
            status = max(status, 2)
            continue
        _report(result, check=args.check, out=out, err=err)
        if result.remaining or (args.check and result.changed):
            status = max(status, 1)
    return status
