"""The jupyter-server extension: its configuration, the environment for kernels, the routes,
and its lifecycle.

Configure it like any Jupyter component::

    c.SalesforceOAuth.public_url = "https://jupyter.example.com/"
    c.SalesforceOAuth.trust_forwarded_headers = True

or ``jupyter lab --SalesforceOAuth.http_timeout=10``.

It is an `ExtensionApp` because that is the lifecycle jupyter-server 2 calls: it loads
the extension through `initialize_settings`/`initialize_handlers` and, on shutdown, awaits
`stop_extension`, which closes what the extension opened (the module-style unload hook is
never called).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from tornado.ioloop import IOLoop
from traitlets import Bool, Dict, Float, List, Unicode

from ..core import _environment as environment
from ..core._check import DEFAULT_CHECK_INTERVAL, DEFAULT_CHECK_TIMEOUT
from ..core._constants import (
    CALLBACK_PATH,
    DEFAULT_API_VERSION,
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_LOGIN_URL,
    DEFAULT_SCOPES,
    STATE_TTL_SECONDS,
)
from ..core._urls import url_path_join
from ._handlers import build_handlers
from ._state import STATE_KEY, ExtensionState

__all__ = ["EXTENSION_NAME", "SalesforceOAuth"]

#: The extension's name: the package, as `jpserver_extensions` enables it.
EXTENSION_NAME = "ak_salesforce_nb"


class SalesforceOAuth(ExtensionApp):
    """The Salesforce OAuth server extension: its settings, and what it opens and closes.

    The class name is the configuration section (``c.SalesforceOAuth.*``,
    ``--SalesforceOAuth.x=…``); `name` is the package, so jupyter-server links the app
    it created from `_jupyter_server_extension_points` instead of making a second one.
    """

    name = EXTENSION_NAME
    description = "Salesforce OAuth for Jupyter: sign-in handlers and a connection API."
    # Loaded next to JupyterLab or Notebook; it adds routes, no page of its own.
    load_other_extensions = True

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
    allowed_login_hosts = List(
        Unicode(),
        default_value=[],
        help="Login hosts beyond Salesforce's own and loopback that users may connect to: "
        "host names (login.example.com), IP addresses, or patterns (*.example.com: its "
        "subdomains). No scheme, port or path.",
    ).tag(config=True)
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
    presets = Dict(
        default_value={},
        help="Connections set up for every user of this server, by name: {'prod': "
        "{'client_id': …, 'login_url': …, 'scopes': …, 'client_secret_file': …}}. Created "
        "(or updated) in each user's store when the server starts; users only click "
        "Authorize and cannot change their app fields. client_secret_file is read by the "
        "server and never sent to a browser; leave it out for a public client (PKCE "
        "only). Also read from $AK_SALESFORCE_NB_PRESETS (JSON); these win by name.",
    ).tag(config=True)
    check_interval = Float(
        DEFAULT_CHECK_INTERVAL,
        help="Seconds between checks of a connection against Salesforce while the side "
        "panel shows it (a Test button checks at once; never more than one check per "
        "connection every 5 s, whoever asks).",
    ).tag(config=True)
    check_timeout = Float(
        DEFAULT_CHECK_TIMEOUT,
        help="Seconds a connection check waits for Salesforce before it says unreachable.",
    ).tag(config=True)

    #: What the handlers share; None until the server loads the extension.
    state: ExtensionState | None = None

    def initialize_settings(self) -> None:
        assert self.serverapp is not None  # jupyter-server links the app before initializing
        serverapp: ServerApp = self.serverapp
        state = ExtensionState(self, serverapp.base_url, serverapp.log)
        self.state = state
        self.settings[STATE_KEY] = state  # jupyter-server copies these into the web app's

        # Kernels started by this server inherit these, so they find the same store.
        environment.export_server_settings(
            os.environ,
            store=state.store_path,
            base=serverapp.base_url,
            public=self.public_url,
            fixed_callback_url=state.policy.fixed_callback_url(),
            labextension=(Path(__file__).parent.parent / "labextension" / "package.json").exists(),
            api_version=self.api_version,
            default_login_url=self.default_login_url,  # the kernels check what they read
            default_scopes=self.default_scopes,
            state_ttl=self.state_ttl,
            allowed_login_hosts=state.defaults.allowed_login_hosts,  # checked, lowercased
        )

        def export_server_url() -> None:
            # Runs once the loop does, after the server bound its port (port_retries may
            # have moved it since the extension loaded).
            with contextlib.suppress(Exception):  # a hint for the form, never worth failing
                os.environ[environment.ENV_SERVER_URL] = serverapp.connection_url

        IOLoop.current().add_callback(export_server_url)
        state.start()
        serverapp.log.info(
            "ak_salesforce_nb: Salesforce OAuth callback at %s (store %s)",
            url_path_join(serverapp.base_url, CALLBACK_PATH),
            state.store_path,
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(build_handlers())

    async def stop_extension(self) -> None:
        """Close what the extension opened: the sweeper, the store thread (after the store
        calls already queued) and the store. Requests after this get "shutting down"."""
        if self.state is not None:
            await self.state.aclose()
