"""tenacity, imported without loading tornado.

tenacity imports tornado whenever it is installed (for its `TornadoRetrying`), and a
notebook kernel must not load the web server's stack (see the import-linter contracts).
tenacity treats a failed ``import tornado`` as its tornado-free mode, so the import runs
with tornado blocked, unless tornado (or tenacity) is loaded already, as in a kernel that
ipykernel started. The kernel's retry policy and the Pub/Sub reconnects both use this.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["tenacity"]


def _import_without_tornado() -> ModuleType:
    if "tenacity" in sys.modules or "tornado" in sys.modules:
        return importlib.import_module("tenacity")
    sys.modules["tornado"] = None  # type: ignore[assignment]  # `import tornado` fails
    try:
        return importlib.import_module("tenacity")
    finally:
        if "tornado" in sys.modules and sys.modules["tornado"] is None:
            del sys.modules["tornado"]


if TYPE_CHECKING:
    import tenacity
else:
    tenacity = _import_without_tornado()
