"""Generating the stubs: the build hook, the generator, and the first-import fallback."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ak_salesforce_nb.pubsub import _codegen, _proto

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "ak_salesforce_nb" / "pubsub" / "pubsub_api.proto"


def test_generator_writes_absolute_imports_and_the_digest(tmp_path: Path) -> None:
    out = tmp_path / "_generated"
    written = _codegen.generate(PROTO, out)
    assert {p.name for p in written} == {
        "__init__.py",
        "pubsub_api_pb2.py",
        "pubsub_api_pb2.pyi",
        "pubsub_api_pb2_grpc.py",
    }
    stubs = (out / "pubsub_api_pb2_grpc.py").read_text()
    assert "from ak_salesforce_nb.pubsub._generated import pubsub_api_pb2" in stubs
    assert _codegen.generated_digest(out) == _codegen.proto_digest(PROTO)
    assert _codegen.generated_digest(tmp_path / "nowhere") is None


def test_the_proto_keeps_salesforces_field_numbers() -> None:
    pb2 = _proto.protos().pb2
    fetch = pb2.FetchRequest.DESCRIPTOR.fields_by_name
    assert {name: f.number for name, f in fetch.items()} == {
        "topic_name": 1,
        "replay_preset": 2,
        "replay_id": 3,
        "num_requested": 4,
        "auth_refresh": 5,
    }
    response = pb2.FetchResponse.DESCRIPTOR.fields_by_name
    assert response["latest_replay_id"].number == 2
    assert response["pending_num_requested"].number == 4
    assert pb2.ConsumerEvent.DESCRIPTOR.fields_by_name["replay_id"].number == 2
    assert pb2.TopicInfo.DESCRIPTOR.fields_by_name["schema_id"].number == 5
    assert (pb2.LATEST, pb2.EARLIEST, pb2.CUSTOM) == (0, 1, 2)
    service = pb2.DESCRIPTOR.services_by_name["PubSub"]
    assert service.full_name == "eventbus.v1.PubSub"
    assert set(service.methods_by_name) == {
        "Subscribe",
        "GetSchema",
        "GetTopic",
        "Publish",
        "PublishStream",
    }


def _load_hook() -> Any:
    spec = importlib.util.spec_from_file_location("aksf_hatch_build", REPO / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    package = root / "ak_salesforce_nb" / "pubsub"
    package.mkdir(parents=True)
    for name in ("_codegen.py", "pubsub_api.proto"):
        (package / name).write_bytes((PROTO.parent / name).read_bytes())
    return root


def _run_hook(module: Any, root: Path, target: str, version: str) -> dict[str, Any]:
    messages: list[str] = []
    app = SimpleNamespace(display_info=messages.append)
    hook = module.PubSubStubsBuildHook(str(root), {}, None, None, str(root / "build"), target, app)
    build_data: dict[str, Any] = {"artifacts": [], "force_include": {}}
    hook.initialize(version, build_data)
    return build_data


def test_build_hook_generates_for_wheels_only(tmp_path: Path) -> None:
    module = _load_hook()
    root = _tree(tmp_path)
    generated = root / "ak_salesforce_nb" / "pubsub" / "_generated"
    assert _run_hook(module, root, "sdist", "standard") == {"artifacts": [], "force_include": {}}
    assert not generated.exists()
    data = _run_hook(module, root, "wheel", "standard")
    assert data["artifacts"] == ["/ak_salesforce_nb/pubsub/_generated/"]
    assert (generated / "pubsub_api_pb2_grpc.py").exists()
    assert _run_hook(module, root, "wheel", "editable")["artifacts"] == []


def test_first_import_generates_missing_stubs(tmp_path: Path) -> None:
    """A source tree without stubs (the hook never ran) generates them on first use."""
    root = _tree(tmp_path)
    package = root / "ak_salesforce_nb"
    (package / "__init__.py").write_text("")
    (package / "_exceptions.py").write_text("class SalesforceNotebookError(Exception): ...\n")
    (package / "pubsub" / "__init__.py").write_text("")
    (package / "pubsub" / "_proto.py").write_bytes((PROTO.parent / "_proto.py").read_bytes())
    script = textwrap.dedent(
        """
        from ak_salesforce_nb.pubsub._proto import protos
        loaded = protos()
        print(loaded.pb2.FetchRequest(num_requested=3).num_requested)
        print(loaded.grpc.PubSubStub.__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "PubSubStub"]
    assert (package / "pubsub" / "_generated" / "pubsub_api_pb2.py").exists()
