"""Which redirect URI this server uses: the URL to register in the Salesforce app.

In order: an explicit `redirect_uri`; on JupyterHub the hub-wide
``{hub}/hub/user-redirect/oauth/redirect/salesforce`` (one URL for every user); a
configured public URL of this server; else the URL the browser used to reach us.

On JupyterHub the hub's origin comes from the configured `public_url`, else from what the
hub tells its servers (``JUPYTERHUB_PUBLIC_HUB_URL``, ``JUPYTERHUB_HOST``: set when
``c.JupyterHub.public_url`` is), else from the request as it came through the hub's proxy
(which keeps the Host header).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core._constants import HUB_CALLBACK_PATH
from ..core._urls import callback_url_under, url_path_join

__all__ = ["HubInfo", "RedirectPolicy", "request_origin"]


@dataclass(frozen=True)
class HubInfo:
    """What JupyterHub tells a single-user server about itself (the JUPYTERHUB_* variables).

    JupyterHub's ``Spawner.get_env`` sets, for every single-user server:
    ``JUPYTERHUB_USER``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_PREFIX``
    (``/user/NAME/``), ``JUPYTERHUB_BASE_URL`` (the hub's base URL, ``/`` by default) and
    ``JUPYTERHUB_HOST``; and (JupyterHub 5, 6) ``JUPYTERHUB_PUBLIC_HUB_URL``
    (``https://HUB/hub/``) and ``JUPYTERHUB_PUBLIC_URL`` (this server's own public URL).
    The last three are empty unless ``c.JupyterHub.public_url`` (or ``subdomain_host``) is
    set. Hub-managed services get no ``JUPYTERHUB_USER`` and are not single-user servers.
    """

    base_url: str
    #: The hub's public origin (``https://hub.example.org``), "" when the hub does not know it.
    public_url: str
    user: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> HubInfo | None:
        env = os.environ if environ is None else environ
        if not env.get("JUPYTERHUB_USER"):
            return None
        if not env.get("JUPYTERHUB_SERVICE_PREFIX") and not env.get("JUPYTERHUB_API_URL"):
            return None
        # The hub's own address first: with subdomain_host, JUPYTERHUB_PUBLIC_URL is the
        # user's subdomain (https://NAME.hub.example.org/...), which differs per user and
        # does not carry the hub's login cookie; JUPYTERHUB_HOST is the hub's origin.
        public_url = (
            _origin(env.get("JUPYTERHUB_PUBLIC_HUB_URL", ""))
            or _origin(env.get("JUPYTERHUB_HOST", ""))
            or _origin(env.get("JUPYTERHUB_PUBLIC_URL", ""))
        )
        return cls(
            base_url=env.get("JUPYTERHUB_BASE_URL") or "/",
            public_url=public_url,
            user=env.get("JUPYTERHUB_USER", ""),
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def request_origin(
    protocol: str, host: str, headers: Mapping[str, str], *, trust_forwarded: bool
) -> str:
    """The origin the browser used; `X-Forwarded-*` only when told to trust a proxy."""
    if trust_forwarded:
        proto = headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        fwd_host = headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        if proto in ("http", "https"):
            protocol = proto
        if fwd_host and "/" not in fwd_host and " " not in fwd_host:
            host = fwd_host
    return f"{protocol}://{host}"


@dataclass(frozen=True)
class RedirectPolicy:
    base_url: str
    public_url: str = ""
    redirect_uri: str = ""
    hub: HubInfo | None = None
    use_hub_redirect: bool = True

    def callback_url(self, origin: str) -> str:
        if self.redirect_uri:
            return self.redirect_uri
        if self.hub is not None and self.use_hub_redirect:
            hub_origin = _origin(self.public_url) or _origin(self.hub.public_url) or origin
            return hub_origin + url_path_join(self.hub.base_url, HUB_CALLBACK_PATH)
        if self.public_url:
            return callback_url_under(self.public_url)
        return origin + callback_url_under(self.base_url)

    def fixed_callback_url(self) -> str:
        """The callback URL when it does not depend on the request, else ""."""
        if self.redirect_uri:
            return self.redirect_uri
        if self.hub is not None and self.use_hub_redirect:
            hub_origin = _origin(self.public_url) or _origin(self.hub.public_url)
            return (
                hub_origin + url_path_join(self.hub.base_url, HUB_CALLBACK_PATH)
                if hub_origin
                else ""
            )
        if self.public_url:
            return callback_url_under(self.public_url)
        return ""
