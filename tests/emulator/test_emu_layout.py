"""The emulator stands apart from the notebook client it ships with.

import-linter checks its imports statically (``make lint``); these tests check what a
running emulator really loads, and that every module states its interface.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ak_salesforce_nb.emulator as emulator_package

PACKAGE = Path(emulator_package.__file__).parent

# Runs an emulator, authorizes, queries over REST (and, with Pub/Sub, asks for a topic
# over gRPC), then prints the modules that loaded beyond `import ak_salesforce_nb`.
_SCRIPT = """
import json, sys, urllib.parse, urllib.request
import ak_salesforce_nb
before = set(sys.modules)
from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator

PUBSUB = {pubsub}
with start_emulator(EmulatorConfig(accounts=5, pubsub=PUBSUB)) as emu:
    code = emu.authorize_code()
    form = urllib.parse.urlencode({{
        "grant_type": "authorization_code",
        "code": code,
        "client_id": emu.config.client_id,
        "client_secret": emu.config.client_secret,
        "redirect_uri": "http://localhost/oauth/redirect/salesforce",
    }}).encode()
    with urllib.request.urlopen(emu.url + "/services/oauth2/token", form) as answer:
        token = json.load(answer)["access_token"]
    query = urllib.parse.quote("SELECT Name FROM Account")
    request = urllib.request.Request(
        emu.url + "/services/data/v66.0/query?q=" + query,
        headers={{"Authorization": "Bearer " + token}},
    )
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer)["totalSize"] == 5
    if PUBSUB:
        import grpc
        from ak_salesforce_nb._pubsub_proto import protos
        pb2, stubs = protos()
        with grpc.insecure_channel(emu.pubsub_endpoint.removeprefix("http://")) as channel:
            info = stubs.PubSubStub(channel).GetTopic(
                pb2.TopicRequest(topic_name="/data/AccountChangeEvent"),
                metadata=(
                    ("accesstoken", token),
                    ("instanceurl", emu.url),
                    ("tenantid", emu.org_id),
                ),
                timeout=10,
            )
        assert info.can_subscribe
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _loaded_by_a_running_emulator(pubsub: bool) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SCRIPT.format(pubsub=pubsub))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("pubsub", [False, True], ids=["rest", "rest+pubsub"])
def test_a_running_emulator_loads_nothing_of_the_client(pubsub: bool) -> None:
    loaded = _loaded_by_a_running_emulator(pubsub)
    ours = {m for m in loaded if m.startswith("ak_salesforce_nb.")}
    # The emulator itself, and the neutral modules it shares (they import nothing of ours).
    allowed = (
        "ak_salesforce_nb.emulator",
        "ak_salesforce_nb._pubsub_proto",
        "ak_salesforce_nb._soql_words",
    )
    assert {m for m in ours if not m.startswith(allowed)} == set()
    assert "ak_salesforce_nb.emulator._web_rest" in ours  # it did load and serve
    grpc_stack = {m for m in loaded if m.split(".")[0] in ("grpc", "fastavro")}
    proto = {m for m in ours if m.startswith("ak_salesforce_nb._pubsub_proto")}
    if pubsub:
        assert grpc_stack and "ak_salesforce_nb._pubsub_proto.pubsub_api_pb2_grpc" in proto
    else:  # the gRPC stack loads only when Pub/Sub is on
        assert grpc_stack == set() and proto == set()


def _modules() -> list[str]:
    names = [emulator_package.__name__]
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        names.append(f"{emulator_package.__name__}.{info.name}")
    return names


def test_every_module_declares_its_interface() -> None:
    modules = _modules()
    assert len(modules) > 30
    for name in modules:
        module = importlib.import_module(name)
        tree = ast.parse(Path(module.__file__ or "").read_text())
        declared = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        ]
        assert declared, f"{name} has no __all__"
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert missing == [], f"{name}.__all__ names what it does not define: {missing}"
