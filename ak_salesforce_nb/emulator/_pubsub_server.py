"""The emulator's Pub/Sub API server: a grpc.aio server on its own port.

It runs on the emulator's event loop, beside the HTTP server, so the REST handlers'
change events reach the subscribers without crossing threads. It can be stopped and
started again on the same port (the event bus, and so the retained events, stay).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import grpc.aio

from .._pubsub_proto import protos
from ._pubsub_bus import EventBus, attach
from ._pubsub_service import PubSubService
from ._state import EmulatorState

__all__ = ["PubSubServer"]

#: Attempts to bind the same port again after a stop (the old socket may linger briefly).
_REBIND_ATTEMPTS = 20


class PubSubServer:
    """Start, stop and restart the gRPC server of one emulator (on its loop)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.bus: EventBus = attach(state)
        self.service = PubSubService(state, self.bus)
        self.port = state.config.pubsub_port
        self._server: grpc.aio.Server | None = None

    @property
    def host(self) -> str:
        host = self.state.config.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
            return "127.0.0.1"
        return host

    @property
    def tls(self) -> bool:
        return self.state.config.tls_certfile is not None

    @property
    def endpoint(self) -> str:
        """What a client is given: ``http://HOST:PORT`` (plain), ``https://...`` (TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def _bind(self, server: grpc.aio.Server, port: int) -> int:
        config = self.state.config
        bind_host = config.host or "127.0.0.1"
        address = f"[{bind_host}]:{port}" if ":" in bind_host else f"{bind_host}:{port}"
        if config.tls_certfile is not None and config.tls_keyfile is not None:
            credentials = grpc.ssl_server_credentials(
                [(Path(config.tls_keyfile).read_bytes(), Path(config.tls_certfile).read_bytes())]
            )
            bound: int = server.add_secure_port(address, credentials)
        else:
            bound = server.add_insecure_port(address)
        if not bound:
            raise OSError(f"cannot listen on {address} for the Pub/Sub API")
        return bound

    async def start(self) -> int:
        """Serve; the port (the configured one, else the one picked the first time)."""
        if self._server is not None:
            return self.port
        last_error: Exception | None = None
        for attempt in range(_REBIND_ATTEMPTS if self.port else 1):
            server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
            protos().grpc.add_PubSubServicer_to_server(self.service, server)
            try:
                self.port = self._bind(server, self.port)
            except (OSError, RuntimeError) as error:
                last_error = error
                await server.stop(None)
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            await server.start()
            self._server = server
            return self.port
        raise OSError(f"the Pub/Sub API could not listen on port {self.port}") from last_error

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; open streams end (clients see UNAVAILABLE or CANCELLED)."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace)

    async def restart(self) -> int:
        """Stop and serve again on the same port."""
        await self.stop()
        return await self.start()
