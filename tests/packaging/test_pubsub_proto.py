"""The committed Pub/Sub API modules: generated from the proto, never at import time.

`ak_salesforce_nb._pubsub_proto` holds ``pubsub_api.proto`` and the modules grpcio-tools
generates from it, committed. These tests keep the two from drifting apart, keep the
dependency pins in step with the version checks the generated code makes at import,
and show that loading them writes nothing and needs no grpcio-tools.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from ak_salesforce_nb._pubsub_proto import _generate, protos

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest depends on tomli before 3.11
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "ak_salesforce_nb" / "_pubsub_proto"


def _requirements(extra: str) -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = project["optional-dependencies"][extra]
    return {r.name: r for r in map(Requirement, listed) if not r.name.startswith("ak")}


def _floor(requirement: Requirement) -> Version:
    floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    assert floors, f"{requirement} has no >= floor"
    return max(floors)


def _generated_versions() -> tuple[Version, Version]:
    """(protobuf, grpcio) versions the committed modules check for at import."""
    pb2 = (PACKAGE / "pubsub_api_pb2.py").read_text()
    call = re.search(r"ValidateProtobufRuntimeVersion\((.*?)\)", pb2, re.S)
    assert call is not None
    _domain, major, minor, patch, _suffix, _location = (a.strip() for a in call[1].split(","))
    grpc_stubs = (PACKAGE / "pubsub_api_pb2_grpc.py").read_text()
    grpc_version = re.search(r"^GRPC_GENERATED_VERSION = '([^']+)'$", grpc_stubs, re.M)
    assert grpc_version is not None
    return Version(f"{major}.{minor}.{patch}"), Version(grpc_version[1])


def test_committed_modules_are_what_the_proto_generates(tmp_path: Path) -> None:
    installed = Version(importlib.metadata.version("grpcio-tools"))
    pinned = _requirements("dev")["grpcio-tools"]
    assert installed in pinned.specifier, (
        f"grpcio-tools {installed} is installed but the committed modules come from "
        f"{pinned}: pip install -e '.[dev]' before comparing"
    )
    written = _generate.generate(tmp_path)
    assert [p.relative_to(tmp_path) for p in written] == list(_generate.GENERATED)
    for path in written:
        committed = REPO / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed.relative_to(REPO)} differs from what pubsub_api.proto generates: "
            "run `make protos` and commit the result"
        )


def test_the_generated_modules_import_their_messages_from_the_neutral_package() -> None:
    stubs = ast.parse((PACKAGE / "pubsub_api_pb2_grpc.py").read_text())
    imported = {n.module for n in ast.walk(stubs) if isinstance(n, ast.ImportFrom)}
    assert "ak_salesforce_nb._pubsub_proto" in imported
    assert not {m for m in imported if m and m.startswith("ak_salesforce_nb.pubsub")}


def test_pins_allow_only_runtimes_the_generated_code_accepts() -> None:
    """The generated code refuses a protobuf older than its own version (or of another
    major) and a grpcio older than the grpcio-tools that made it; the pins must too."""
    protobuf_made, grpc_made = _generated_versions()
    for extra in ("pubsub", "test"):
        requirements = _requirements(extra)
        assert _floor(requirements["protobuf"]) >= protobuf_made, extra
        ceilings = [
            Version(s.version) for s in requirements["protobuf"].specifier if s.operator == "<"
        ]
        assert ceilings and min(ceilings) <= Version(f"{protobuf_made.major + 1}"), extra
        assert _floor(requirements["grpcio"]) >= grpc_made, extra
    assert grpc_made in _requirements("dev")["grpcio-tools"].specifier


def test_the_proto_keeps_salesforces_field_numbers() -> None:
    pb2 = protos().pb2
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


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-B", "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _snapshot() -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(PACKAGE)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in PACKAGE.rglob("*")
        if "__pycache__" not in p.parts
    }


def test_loading_writes_nothing_and_needs_no_grpcio_tools() -> None:
    before = _snapshot()
    result = _run(
        """
        import sys
        sys.modules["grpc_tools"] = None  # as in an install without the dev extra
        from ak_salesforce_nb._pubsub_proto import protos
        loaded = protos()
        print(loaded.pb2.FetchRequest(num_requested=3).num_requested)
        print(loaded.grpc.PubSubStub.__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "PubSubStub"]
    assert _snapshot() == before


def test_missing_grpc_says_what_to_install() -> None:
    result = _run(
        """
        import sys
        sys.modules["grpc"] = None
        from ak_salesforce_nb._pubsub_proto import protos
        try:
            protos()
        except ImportError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "needs grpcio and protobuf (grpc is not installed)" in result.stdout
    assert "pip install 'ak_salesforce_nb[pubsub]'" in result.stdout


def test_a_too_old_protobuf_says_to_upgrade() -> None:
    result = _run(
        """
        from google.protobuf import runtime_version
        runtime_version.MINOR = 0  # as if the installed protobuf were N.0
        from ak_salesforce_nb._pubsub_proto import protos
        try:
            protos()
        except ImportError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "older than ak_salesforce_nb's Pub/Sub API modules need" in result.stdout
    assert f"gencode {_generated_versions()[0]}" in result.stdout
    assert "pip install -U 'ak_salesforce_nb[pubsub]'" in result.stdout
