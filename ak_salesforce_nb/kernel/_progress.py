"""A progress bar for multi-page results and writes: a widget in a notebook, a text line
elsewhere. A write also counts the rows that failed (``advance(n, failed=k)``).

In a notebook the bar's output also carries a static text/HTML line (`_static`), and when
the bar closes the output becomes that line with the final count: a saved notebook (and
GitHub, nbviewer, a headless run) shows what was fetched instead of "Loading widget…".
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

__all__ = ["Progress", "make_progress"]


class Progress(Protocol):
    def advance(self, count: int, *, failed: int = 0) -> None: ...
    def close(self) -> None: ...


class _NoProgress:
    def advance(self, count: int, *, failed: int = 0) -> None:
        pass

    def close(self) -> None:
        pass


def _failures(failed: int) -> str:
    return f" ({failed:,} failed)" if failed else ""


class _TextProgress:
    def __init__(self, total: int, label: str) -> None:
        self.total, self.done, self.failed, self.label = total, 0, 0, label
        self._last = 0.0

    def advance(self, count: int, *, failed: int = 0) -> None:
        self.done += count
        self.failed += failed
        now = time.monotonic()
        if now - self._last > 0.2 or self.done >= self.total:
            self._last = now
            sys.stderr.write(
                f"\r{self.label}: {self.done:,} / {self.total:,} records{_failures(self.failed)}"
            )
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


class _WidgetProgress:
    def __init__(self, total: int, label: str) -> None:
        import ipywidgets as w
        from IPython.display import display

        from ._static import with_static

        self.total, self.done, self.failed, self.label = total, 0, 0, label
        self.bar = w.IntProgress(value=0, min=0, max=max(total, 1), description=label)
        self.bar.tooltip = f"{label}: progress"  # the bar's accessible name
        self.text = w.Label(f"0 / {total:,}")
        self.box = with_static(w.HBox([self.bar, self.text]), self.static_summary)
        self.handle: Any = display(self.box, display_id=True)  # type: ignore[no-untyped-call]

    def static_summary(self, *, finished: bool = False) -> Any:
        """The bar as a line of text: ``Fetching: 1,200 / 2,000 records``."""
        from ._static import StaticSummary

        count = f"{self.done:,} / {self.total:,} records{_failures(self.failed)}"
        return StaticSummary(
            self.label, state=count, sentence="done" if finished else "", inline=True
        )

    def advance(self, count: int, *, failed: int = 0) -> None:
        self.done += count
        self.failed += failed
        self.bar.value = min(self.done, self.total)
        if self.failed:
            self.bar.bar_style = "warning"
        self.text.value = f"{self.done:,} / {self.total:,}{_failures(self.failed)}"

    def close(self) -> None:
        self.bar.bar_style = "warning" if self.failed else "success"
        self.box.close()
        # The view is gone with the widget: the output keeps the final count as text.
        if self.handle is not None:
            summary = self.static_summary(finished=True)
            self.handle.update(
                {"text/plain": summary.text(), "text/html": summary.html()}, raw=True
            )


def _in_kernel() -> bool:
    shell: Any = sys.modules.get("IPython") and _get_ipython()
    return bool(shell) and type(shell).__name__ == "ZMQInteractiveShell"


def _get_ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def make_progress(total: int, *, enabled: bool | None, label: str = "Fetching") -> Progress:
    """`enabled=None` means: show one when the result spans more than one page."""
    if enabled is False:
        return _NoProgress()
    if _in_kernel():
        try:
            return _WidgetProgress(total, label)
        except ImportError:
            pass
    if enabled is None and not sys.stderr.isatty() and not _in_kernel():
        return _NoProgress()
    return _TextProgress(total, label)
