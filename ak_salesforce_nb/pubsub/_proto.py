"""The generated Pub/Sub API modules (messages and gRPC stubs), loaded on first use.

Built packages ship them: the build hook (``hatch_build.py``) compiles
``pubsub_api.proto`` into ``_generated/``. A source checkout that never ran the hook
(or whose proto changed since) generates them here once, on first use, if grpcio-tools
is installed; the proto's digest recorded in ``_generated/__init__.py`` says which case
applies. Nothing is written when the shipped stubs match the proto.
"""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path
from typing import Any, NamedTuple

from . import _codegen

__all__ = ["Protos", "protos"]

_HERE = Path(__file__).resolve().parent
_PROTO = _HERE / _codegen.PROTO_NAME
_OUT = _HERE / "_generated"
_lock = threading.Lock()
_loaded: Protos | None = None


class Protos(NamedTuple):
    """``pb2``: the messages and enums; ``grpc``: ``PubSubStub`` and the servicer glue."""

    pb2: Any
    grpc: Any


def _import() -> Protos:
    package = _codegen.GENERATED_PACKAGE
    pb2 = importlib.import_module(f"{package}.pubsub_api_pb2")
    stubs = importlib.import_module(f"{package}.pubsub_api_pb2_grpc")
    return Protos(pb2, stubs)


def _forget_generated() -> None:
    package = _codegen.GENERATED_PACKAGE
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def _up_to_date() -> bool:
    return _codegen.generated_digest(_OUT) == _codegen.proto_digest(_PROTO)


def _regenerate(reason: str) -> None:
    try:
        _codegen.generate(_PROTO, _OUT)
    except ImportError as error:
        raise ImportError(
            f"The Pub/Sub API stubs of ak_salesforce_nb are {reason}. Reinstall "
            "ak_salesforce_nb (its build generates them), or pip install grpcio-tools so "
            "that they can be generated on first use."
        ) from error
    except OSError as error:
        raise ImportError(
            f"The Pub/Sub API stubs of ak_salesforce_nb are {reason}, and cannot be "
            f"written to {_OUT} ({error}). Reinstall ak_salesforce_nb."
        ) from error
    _forget_generated()


def protos() -> Protos:
    """The generated modules, generating them first if the build did not."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        if not _up_to_date():
            reason = "missing" if not (_OUT / "__init__.py").exists() else "out of date"
            _regenerate(reason)
        try:
            loaded = _import()
        except (RuntimeError, ImportError) as error:
            # Stubs made by a newer grpcio-tools than the installed grpcio/protobuf.
            raise ImportError(
                f"The Pub/Sub API stubs of ak_salesforce_nb do not work with the installed "
                f"grpcio/protobuf ({error}). Upgrade grpcio and protobuf."
            ) from error
        _loaded = loaded
        return loaded
