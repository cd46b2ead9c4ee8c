"""Hatch build hook: generate the Pub/Sub API gRPC stubs when building a wheel.

Compiles ``ak_salesforce_nb/pubsub/pubsub_api.proto`` with ``grpcio-tools`` into
``ak_salesforce_nb/pubsub/_generated/`` (git-ignored). A standard wheel ships the
generated modules (added as build artifacts, since VCS-ignored files are otherwise left
out); an editable install finds them in the source tree. The generator lives in the
package (``ak_salesforce_nb/pubsub/_codegen.py``) and is loaded from its file, so the
build needs nothing of the package's own dependencies.

Configured in pyproject.toml under ``[tool.hatch.build.hooks.custom]``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE_DIR = Path("ak_salesforce_nb", "pubsub")


def _load_codegen(root: Path) -> ModuleType:
    path = root / PACKAGE_DIR / "_codegen.py"
    spec = importlib.util.spec_from_file_location("_aksf_pubsub_codegen", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PubSubStubsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs ``grpc_tools.protoc`` before the wheel is assembled."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist carries the proto and this hook, not generated code
        root = Path(self.root)
        codegen = _load_codegen(root)
        out_dir = root / PACKAGE_DIR / "_generated"
        written = codegen.generate(root / PACKAGE_DIR / codegen.PROTO_NAME, out_dir)
        self.app.display_info(f"Generated the Pub/Sub API stubs: {len(written)} files")
        if version != "editable":
            build_data["artifacts"].append(f"/{(PACKAGE_DIR / '_generated').as_posix()}/")
