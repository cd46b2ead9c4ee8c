"""Regenerate the committed Pub/Sub API modules from ``pubsub_api.proto`` (grpcio-tools).

A developer tool, never run by the package itself: ``make protos`` runs this file after
an edit of the proto, and a test runs `generate` into a temporary folder and compares
the result with the committed files, so they cannot drift apart. It needs only the
standard library and ``grpc_tools`` (the ``dev`` extra), and is run by path so that it
imports nothing of the package::

    python ak_salesforce_nb/_pubsub_proto/_generate.py            # in place
    python ak_salesforce_nb/_pubsub_proto/_generate.py OUT_ROOT   # under OUT_ROOT instead

The proto is compiled with the package root as its import path, so the generated
``pubsub_api_pb2_grpc.py`` imports its messages absolutely
(``from ak_salesforce_nb._pubsub_proto import pubsub_api_pb2``) with no rewriting.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["GENERATED", "PROTO", "generate", "main"]

_HERE = Path(__file__).resolve().parent
#: The folder that holds ``ak_salesforce_nb/`` (the repository root in a checkout).
_ROOT = _HERE.parents[1]
#: The proto, relative to `_ROOT`: its path is also its name in protobuf's registry.
PROTO = _HERE.relative_to(_ROOT) / "pubsub_api.proto"
#: What `generate` writes, relative to `_ROOT`.
GENERATED = tuple(
    PROTO.with_name(name)
    for name in ("pubsub_api_pb2.py", "pubsub_api_pb2.pyi", "pubsub_api_pb2_grpc.py")
)


def generate(out_root: Path = _ROOT) -> list[Path]:
    """Compile the proto into ``out_root`` (the package's own folder by default); the
    files written. Raises ImportError without grpcio-tools, RuntimeError if protoc fails."""
    try:
        from grpc_tools import protoc
    except ImportError as error:
        raise ImportError(
            "Regenerating the Pub/Sub API modules needs grpcio-tools: "
            "pip install -e '.[dev]' (it pins the grpcio-tools the committed files came from)."
        ) from error
    (out_root / PROTO.parent).mkdir(parents=True, exist_ok=True)
    arguments = [
        "grpc_tools.protoc",
        f"--proto_path={_ROOT}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        str(_ROOT / PROTO),
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError(f"protoc could not compile {_ROOT / PROTO}")
    return [out_root / name for name in GENERATED]


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    out_root = Path(arguments[0]) if arguments else _ROOT
    for path in generate(out_root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
