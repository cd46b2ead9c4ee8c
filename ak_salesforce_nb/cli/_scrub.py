"""`python -m ak_salesforce_nb scrub`: make a notebook safe to share.

What it changes, and only there:
- the notebook's widget state (``metadata.widgets``): the saved models of every widget,
  which may hold whatever a widget once showed;
- widget views in outputs (``application/vnd.jupyter.widget-view+json``): without the
  state they show "Loading widget…"; their ``text/plain``/``text/html`` siblings (this
  package's widgets put a static summary there) stay;
- anything secret-shaped (`_patterns.SECRET_PATTERNS`) in outputs (text, rich data,
  tracebacks, output metadata), in cell metadata and in the notebook's metadata (a
  papermill run keeps its parameters there): replaced by ``[REDACTED <kind>]``;
- with ``redact=True``, e-mail addresses and instance hosts there too.

What it never changes: a cell's source. A secret typed into a cell is the author's to take
out (and to revoke): the scrubber reports it, naming the cell and the kind of secret, and
fails, so a pre-commit hook stops the commit.

The notebook is read and written as JSON with the standard library, not nbformat:
nbformat's writer validates and may upgrade a notebook (cell ids, ``nbformat_minor``),
and nbformat is not a runtime dependency of this package (only of its tests). Keys keep
their order, the indentation and the ``ensure_ascii`` choice of the file are kept, so
what Jupyter or VS Code saved differs only where something was removed; a notebook with
nothing to remove is not written at all (idempotent, byte for byte). Writes go to a
temporary file in the same folder, then replace the notebook in one step.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._patterns import REDACT_PATTERNS, SECRET_PATTERNS, Pattern, find, replace

__all__ = [
    "WIDGET_STATE_KEY",
    "WIDGET_VIEW_MIMETYPE",
    "Finding",
    "NotebookError",
    "ScrubResult",
    "scrub_file",
    "scrub_files",
    "scrub_notebook",
]

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_KEY = "widgets"
#: What an output that was nothing but a widget view shows instead.
WIDGET_PLACEHOLDER = "[an interactive widget: its state is not saved in this notebook]"
# Base64 data is noise to the patterns (and could match one by chance): left alone.
_BINARY = re.compile(r"^(image/(?!svg)|application/(pdf|octet-stream)|audio/|video/)")


class NotebookError(ValueError):
    """The file is not a notebook this command can read (not JSON, not nbformat 4)."""


@dataclass(frozen=True)
class Finding:
    """What was found in one place: `cell` (its index, None for the notebook), `place`
    (``output 2``, ``metadata``, ``source``…), the `kinds` found (one entry per match),
    and whether it was `removed` (False: it stays, and the command fails)."""

    cell: int | None
    place: str
    kinds: tuple[str, ...]
    removed: bool

    def describe(self) -> str:
        """``cell 3, output 0: Salesforce access token (2), bearer token`` (never the text)."""
        counts = Counter(self.kinds)
        kinds = ", ".join(f"{k} ({n})" if n > 1 else k for k, n in counts.items())
        where = f"cell {self.cell}, {self.place}" if self.cell is not None else self.place
        return f"{where}: {kinds}"


@dataclass
class ScrubResult:
    """The outcome for one notebook."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    changed: bool = False
    written: bool = False

    @property
    def removed(self) -> list[Finding]:
        return [f for f in self.findings if f.removed]

    @property
    def remaining(self) -> list[Finding]:
        """What scrub must not remove (secrets in cell sources): the command fails."""
        return [f for f in self.findings if not f.removed]


class _Cleaner:
    """Replaces matches in the strings of a JSON value, remembering the kinds found."""

    def __init__(self, patterns: tuple[Pattern, ...]) -> None:
        self.patterns = patterns
        self.kinds: list[str] = []

    def text(self, value: Any) -> Any:
        """A multi-line string field (a str, or nbformat's list of lines): cleaned as one
        text, so a secret split over lines (a PEM key) is found, then split back."""
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            joined = "".join(value)
            cleaned = self._string(joined)
            return value if cleaned == joined else cleaned.splitlines(keepends=True)
        return self.value(value)

    def value(self, value: Any) -> Any:
        """Any JSON value: every string in it cleaned (keys are left alone)."""
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, list):
            return [self.value(x) for x in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def _string(self, text: str) -> str:
        cleaned, kinds = replace(text, self.patterns)
        self.kinds += kinds
        return cleaned


def _source_text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _scrub_output(output: dict[str, Any], patterns: tuple[Pattern, ...]) -> list[str]:
    """Clean one output in place; the kinds removed."""
    kinds: list[str] = []
    data = output.get("data")
    if isinstance(data, dict) and WIDGET_VIEW_MIMETYPE in data:
        del data[WIDGET_VIEW_MIMETYPE]
        kinds.append("widget view")
        if "text/plain" not in data and "text/html" not in data:
            data["text/plain"] = WIDGET_PLACEHOLDER
    cleaner = _Cleaner(patterns)
    if isinstance(data, dict):
        for mimetype in list(data):
            if not _BINARY.match(mimetype):
                data[mimetype] = cleaner.text(data[mimetype])
    for key in ("text", "evalue", "ename"):
        if key in output:
            output[key] = cleaner.text(output[key])
    if "traceback" in output:
        output["traceback"] = cleaner.value(output["traceback"])
    if "metadata" in output:
        output["metadata"] = cleaner.value(output["metadata"])
    return kinds + cleaner.kinds


def scrub_notebook(notebook: dict[str, Any], *, redact: bool = False) -> list[Finding]:
    """Scrub `notebook` (nbformat 4 JSON, as loaded) in place; what was found where."""
    patterns = SECRET_PATTERNS + (REDACT_PATTERNS if redact else ())
    findings: list[Finding] = []
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict):
        if WIDGET_STATE_KEY in metadata:
            del metadata[WIDGET_STATE_KEY]
            findings.append(Finding(None, "notebook metadata", ("widget state",), True))
        cleaner = _Cleaner(patterns)
        notebook["metadata"] = cleaner.value(metadata)
        if cleaner.kinds:
            findings.append(Finding(None, "notebook metadata", tuple(cleaner.kinds), True))
    for index, cell in enumerate(notebook.get("cells") or []):
        if not isinstance(cell, dict):
            continue
        for number, output in enumerate(cell.get("outputs") or []):
            if isinstance(output, dict):
                kinds = _scrub_output(output, patterns)
                if kinds:
                    findings.append(Finding(index, f"output {number}", tuple(kinds), True))
        if isinstance(cell.get("metadata"), dict):
            cleaner = _Cleaner(patterns)
            cell["metadata"] = cleaner.value(cell["metadata"])
            if cleaner.kinds:
                findings.append(Finding(index, "metadata", tuple(cleaner.kinds), True))
        # A source is the author's: looked at for secrets only (never for --redact's
        # names and hosts, which a query may rightly hold), and never rewritten.
        found = find(_source_text(cell.get("source")), SECRET_PATTERNS)
        if found:
            kind = cell.get("cell_type", "")
            place = f"source ({kind} cell)" if kind else "source"
            findings.append(Finding(index, place, tuple(m.kind for m in found), False))
    return findings


@dataclass(frozen=True)
class _Format:
    """How the file was written, to write it back the same way."""

    indent: int | None
    sort_keys: bool
    ensure_ascii: bool
    newline: str
    final_newline: bool

    def dumps(self, notebook: Any) -> str:
        text = json.dumps(
            notebook, indent=self.indent, sort_keys=self.sort_keys, ensure_ascii=self.ensure_ascii
        )
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return text + (self.newline if self.final_newline else "")


def _format_of(text: str, notebook: Any) -> _Format:
    newline = "\r\n" if "\r\n" in text else "\n"
    final_newline = text.endswith(("\n", "\r"))
    indent_match = re.match(r"\{\r?\n( +)\S", text)
    indent = len(indent_match.group(1)) if indent_match else None
    ensure_ascii = not any(ord(ch) > 127 for ch in text) and "\\u" in text
    # Keep the file's key order when it was not sorted; nbformat sorts (Jupyter's files).
    for sort_keys in (True, False):
        candidate = _Format(indent, sort_keys, ensure_ascii, newline, final_newline)
        if candidate.dumps(notebook) == text:
            return candidate
    # Written by something else: nbformat's own style.
    return _Format(1, True, False, newline, True)


def _load(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookError(f"{path}: cannot be read ({error}).") from error
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"{path}: is not a notebook (not JSON: {error}).") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path}: is not a notebook (no list of cells).")
    if notebook.get("nbformat") != 4:
        raise NotebookError(
            f"{path}: is an nbformat {notebook.get('nbformat')} notebook; only nbformat 4 "
            "(Jupyter 4 and later) is supported. Open and save it in Jupyter to upgrade it."
        )
    return text, notebook


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (a reader sees the old file or the new one,
    never half of one), keeping its permissions."""
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def scrub_file(path: Path, *, redact: bool = False, check: bool = False) -> ScrubResult:
    """Scrub the notebook at `path`; with `check`, only say what would change.

    Raises `NotebookError` when the file is not a notebook it can read.
    """
    text, notebook = _load(path)
    original_format = _format_of(text, notebook)
    findings = scrub_notebook(notebook, redact=redact)
    result = ScrubResult(path, findings)
    new_text = original_format.dumps(notebook)
    result.changed = new_text != text
    if result.changed and not check:
        _write_atomically(path, new_text)
        result.written = True
    return result


def scrub_files(
    paths: Iterable[Path], *, redact: bool = False, check: bool = False
) -> list[ScrubResult]:
    """`scrub_file` of each path, in order."""
    return [scrub_file(p, redact=redact, check=check) for p in paths]
