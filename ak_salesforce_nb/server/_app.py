"""The jupyter-server extension: configuration, the environment for kernels, the routes.

Configure it like any Jupyter component::

    c.SalesforceOAuth.public_url = "https://jupyter.example.com/"
    c.SalesforceOAuth.trust_forwarded_headers = True

or ``jupyter lab --SalesforceOAuth.http_timeout=10``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable

from ..core import _environment as environment
from ..core._constants import (
    DEFAULT_API_VERSION,
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_LOGIN_URL,
    DEFAULT_SCOPES,
    STATE_TTL_SECONDS,
)
from ..core._exceptions import StoreClosedError, StoreError
from ..core._store import ConnectionStore, default_store_path
from ..core._validation import normalize_login_url, normalize_scopes
from ._authorization import AuthorizationService, run_on_store_thread
from ._redirect import HubInfo, RedirectPolicy

__all__ = ["ExtensionState", "SalesforceOAuth", "load_extension", "unload_extension"]

STATE_KEY = "ak_salesforce_nb"


class SalesforceOAuth(Configurable):
    """Settings of the Salesforce OAuth server extension."""

    public_url = Unicode(
        "",
        help="The URL of this Jupyter server as users' browsers see it, including its base "
        "URL (e.g. https://jupyter.example.com/lab-prefix/). Empty: taken from each request.",
    ).tag(config=True)
    redirect_uri = Unicode(
        "", help="An explicit redirect URI to send to Salesforce; overrides everything else."
    ).tag(config=True)
    use_hub_redirect = Bool(
        True,
        help="Under JupyterHub, use the hub-wide callback "
        "{hub}/hub/user-redirect/oauth/redirect/salesforce, one URL for every user.",
    ).tag(config=True)
    trust_forwarded_headers = Bool(
        False,
        help="Honour X-Forwarded-Proto/-Host when building the callback URL (only behind a "
        "proxy you control).",
    ).tag(config=True)
    default_login_url = Unicode(DEFAULT_LOGIN_URL, help="Login host for new connections.").tag(
        config=True
    )
    default_scopes = Unicode(DEFAULT_SCOPES, help="Scopes for new connections.").tag(config=True)
    state_ttl = Float(STATE_TTL_SECONDS, help="Seconds a sign-in link stays valid.").tag(
        config=True
    )
    http_timeout = Float(
        DEFAULT_HTTP_TIMEOUT, help="Seconds to wait for Salesforce's OAuth endpoints."
    ).tag(config=True)
    api_version = Unicode(DEFAULT_API_VERSION, help="Salesforce REST API version.").tag(config=True)
    store_path = Unicode(
        "",
        help="The connection store file. Default: $AK_SALESFORCE_NB_STORE, else "
        "<jupyter data dir>/ak_salesforce_nb/store.sqlite3.",
    ).tag(config=True)
    store_timeout = Float(10.0, help="Seconds to wait for a store locked by another process.").tag(
        config=True
    )


class ExtensionState:
    """What the handlers share: the settings, the redirect policy and the store (lazily)."""

    def __init__(self, config: SalesforceOAuth, base_url: str, log: logging.Logger) -> None:
        self.config = config
        self.base_url = base_url
        self.log = log
        self.store_path = (
            Path(config.store_path).expanduser() if config.store_path else default_store_path()
        )
        self.policy = RedirectPolicy(
            base_url=base_url,
            public_url=config.public_url,
            redirect_uri=config.redirect_uri,
            hub=HubInfo.from_environ(),
            use_hub_redirect=config.use_hub_redirect,
        )
        self._service: AuthorizationService | None = None
        self.closed = False
        # Store work waits on SQLite's lock at worst: one thread of its own, off the loop.
        self.store_executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="ak-salesforce-store"
        )

    @property
    def service(self) -> AuthorizationService:
        """The authorization service, opening the store on the calling thread if needed
        (handlers use `get_service`, which opens it on the store thread)."""
        if self.closed:
            raise StoreClosedError(str(self.store_path))
        if self._service is None:
            store = ConnectionStore(self.store_path, timeout=self.config.store_timeout)
            self._service = AuthorizationService(
                store,
                http_timeout=self.config.http_timeout,
                state_ttl=self.config.state_ttl,
                api_version=self.config.api_version,
                default_login_url=normalize_login_url(self.config.default_login_url),
                default_scopes=normalize_scopes(self.config.default_scopes),
                store_executor=self.store_executor,
            )
        return self._service

    async def get_service(self) -> AuthorizationService:
        """The authorization service; the store opens (migrations, key, permission
        checks: all may wait) on the store thread. May raise a clear `StoreError`."""
        if self._service is not None and not self.closed:
            return self._service
        return await run_on_store_thread(
            self.store_executor, str(self.store_path), lambda: self.service
        )

    async def sweep(self) -> None:
        try:
            service = await self.get_service()
            removed = await service.in_store_thread(service.store.sweep_expired)
        except StoreError as exc:
            self.log.warning("Salesforce store sweep skipped: %s", exc)
            return
        if removed:
            self.log.debug("Swept %d expired Salesforce sign-in states", removed)

    async def aclose(self) -> None:
        # The server still answers requests while it stops its kernels: from now on they
        # get a clear "shutting down". Store calls already queued finish (each bounded by
        # the store's timeout) before the store closes under them.
        self.closed = True
        await asyncio.to_thread(self.store_executor.shutdown, wait=True)
        if self._service is not None:
            await self._service.aclose()
            self._service.store.close()
            self._service = None


def load_extension(serverapp: Any) -> None:
    from ._handlers import build_handlers

    config = SalesforceOAuth(parent=serverapp)
    state = ExtensionState(config, serverapp.base_url, serverapp.log)
    web_app = serverapp.web_app
    web_app.settings[STATE_KEY] = state

    # Kernels started by this server inherit these, so they find the same store.
    environment.export_server_settings(
        os.environ,
        store=state.store_path,
        base=serverapp.base_url,
        public=config.public_url,
        fixed_callback_url=state.policy.fixed_callback_url(),
        labextension=(Path(__file__).parent.parent / "labextension" / "package.json").exists(),
        api_version=config.api_version,
        default_login_url=config.default_login_url,  # the kernels check what they read
        default_scopes=config.default_scopes,
        state_ttl=config.state_ttl,
    )

    def export_server_url() -> None:
        # Runs once the loop does, after the server bound its port (port_retries may
        # have moved it since the extension loaded).
        with contextlib.suppress(Exception):  # a hint for the form, never worth failing
            os.environ[environment.ENV_SERVER_URL] = serverapp.connection_url

    IOLoop.current().add_callback(export_server_url)

    web_app.add_handlers(".*$", build_handlers(serverapp.base_url))
    sweeper = PeriodicCallback(state.sweep, 60_000)
    sweeper.start()
    state.sweeper = sweeper  # type: ignore[attr-defined]
    serverapp.log.info(
        "ak_salesforce_nb: Salesforce OAuth callback at %soauth/redirect/salesforce (store %s)",
        serverapp.base_url,
        state.store_path,
    )


async def unload_extension(serverapp: Any) -> None:
    state: ExtensionState | None = serverapp.web_app.settings.get(STATE_KEY)
    if state is None:
        return
    sweeper = getattr(state, "sweeper", None)
    if sweeper is not None:
        sweeper.stop()
    await state.aclose()
