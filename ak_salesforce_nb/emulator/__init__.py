"""A local, faithful emulator of a Salesforce org, for demos, tests and benchmarks.

It speaks the parts of Salesforce this product touches: the OAuth 2.0 web server flow
(login and consent pages, PKCE, token, refresh, revoke, userinfo, identity URL), the REST
API (query/queryAll with cursors, describe, sObject rows, sObject Collections, limits) and
Bulk API 2.0 query and ingest jobs, over deterministic generated data.

For write-back tests: ``EmulatorConfig(shuffle_results=True)`` serves ingest result files
out of input order, ``validation_rule_prefix="REJECT"`` makes records so named fail with
FIELD_CUSTOM_VALIDATION_EXCEPTION (both also settable on ``emu.config`` while it runs),
and ``emu.inject_fault("unavailable" | "request_limit" | "server_error" | "reset",
count, path)`` and ``emu.lock_rows(n)`` arm transient faults (``emu.clear_faults()``).

In a test::

    from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator

    with start_emulator(EmulatorConfig(accounts=200, auto_approve=True)) as emu:
        code = emu.authorize_code(redirect_uri="http://localhost/oauth/redirect/salesforce")
        ...  # exchange it at f"{emu.url}/services/oauth2/token"

With ``EmulatorConfig(pubsub=True)`` (``--pubsub`` / ``--pubsub-port``) it also serves the
Pub/Sub API (gRPC, ``emu.pubsub_endpoint``) and emits a Change Data Capture event for
every create, update and delete made through its REST API (needs grpcio and fastavro).

From a shell: ``python -m ak_salesforce_nb.emulator --port 8765``.

What it needs: the standard library and tornado for OAuth, REST and Bulk; cryptography
only for ``--tls`` test certificates; grpcio, protobuf and fastavro only with Pub/Sub on
(loaded when it starts). It stands apart from the notebook client in this distribution:
it imports none of ``core``, ``server``, ``kernel`` or ``pubsub`` (an import-linter
contract in ``pyproject.toml`` says so), only the Pub/Sub API's protocol, which it shares
with the client through the neutral ``ak_salesforce_nb._pubsub_proto``.
"""

from __future__ import annotations

from ._config import EmulatorConfig
from ._server import RunningEmulator, start_emulator

__all__ = ["EmulatorConfig", "RunningEmulator", "start_emulator"]
