"""The sub-commands of ``python -m ak_salesforce_nb`` and the parser that dispatches them.

A new command is one `Command` in `COMMANDS`: its name, a line of help, how it adds its
arguments, and how it runs (returning the exit status).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._version import __version__
from . import _scrub_command

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: tuple[Command, ...] = (
    Command(
        "scrub",
        "remove widget state and secrets from notebooks before sharing them",
        _scrub_command.DESCRIPTION,
        _scrub_command.add_arguments,
        _scrub_command.run,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ak_salesforce_nb",
        description="Salesforce in Jupyter: tools for notebook files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.description)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: the process's), run the command, return its exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status
