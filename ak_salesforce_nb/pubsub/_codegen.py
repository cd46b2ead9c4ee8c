"""Generate the Python gRPC stubs of ``pubsub_api.proto`` with ``grpcio-tools``.

Used by the build hook (``hatch_build.py`` at the repository root, which loads this file
by path: it needs nothing but the standard library and ``grpc_tools``) and, in a source
checkout whose stubs were never built, by the first import of the stubs
(:mod:`ak_salesforce_nb.pubsub._proto`).

The stubs land in ``ak_salesforce_nb/pubsub/_generated/`` (git-ignored). The proto is
compiled from a temporary tree that mirrors the package path, so the generated
``pubsub_api_pb2_grpc.py`` imports its messages absolutely
(``from ak_salesforce_nb.pubsub._generated import pubsub_api_pb2``) with no rewriting.
``_generated/__init__.py`` is written last and records the proto's SHA-256, which tells
the importer whether the stubs match the proto next to them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "GENERATED_PACKAGE",
    "PROTO_NAME",
    "generate",
    "generated_digest",
    "proto_digest",
]

PROTO_NAME = "pubsub_api.proto"
GENERATED_PACKAGE = "ak_salesforce_nb.pubsub._generated"
_MODULES = ("pubsub_api_pb2.py", "pubsub_api_pb2.pyi", "pubsub_api_pb2_grpc.py")
_MARKER = "PROTO_SHA256"


def proto_digest(proto: Path) -> str:
    """The SHA-256 of the proto's text: what the stubs were generated from."""
    return hashlib.sha256(proto.read_bytes()).hexdigest()


def generated_digest(out_dir: Path) -> str | None:
    """The digest recorded in ``out_dir/__init__.py``, or None if there is none."""
    try:
        text = (out_dir / "__init__.py").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == _MARKER:
            return value.strip().strip("\"'") or None
    return None


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def generate(proto: Path, out_dir: Path) -> list[Path]:
    """Compile `proto` into `out_dir` (created if needed); the files written.

    Each file is replaced atomically, so concurrent generators (two kernels importing at
    once) leave complete, identical files. Raises ImportError without grpcio-tools and
    RuntimeError if protoc fails.
    """
    try:
        from grpc_tools import protoc
    except ImportError as error:
        raise ImportError(
            "Generating the Pub/Sub API stubs needs grpcio-tools: pip install grpcio-tools "
            "(installed builds of ak_salesforce_nb ship the stubs)."
        ) from error
    digest = proto_digest(proto)
    relative = Path(*GENERATED_PACKAGE.split("."))
    with tempfile.TemporaryDirectory(prefix="aksf-protoc-") as temporary:
        source = Path(temporary, "src")
        (source / relative).mkdir(parents=True)
        shutil.copyfile(proto, source / relative / PROTO_NAME)
        target = Path(temporary, "out")
        target.mkdir()
        arguments = [
            "grpc_tools.protoc",
            f"--proto_path={source}",
            f"--python_out={target}",
            f"--pyi_out={target}",
            f"--grpc_python_out={target}",
            (relative / PROTO_NAME).as_posix(),
        ]
        if protoc.main(arguments) != 0:
            raise RuntimeError(f"protoc could not compile {proto}")
        out_dir.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name in _MODULES:
            destination = out_dir / name
            _write_atomically(destination, (target / relative / name).read_bytes())
            written.append(destination)
    init = out_dir / "__init__.py"
    _write_atomically(
        init,
        (
            '"""Generated from ../pubsub_api.proto by grpcio-tools; do not edit."""\n\n'
            f'{_MARKER} = "{digest}"\n'
        ).encode(),
    )
    written.append(init)
    return written
