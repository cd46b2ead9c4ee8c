"""The hub-wide redirect URI from the environment JupyterHub gives a single-user server.

The environments below follow `jupyterhub.spawner.Spawner.get_env` (JupyterHub 5 and 6):
``JUPYTERHUB_PUBLIC_URL``, ``JUPYTERHUB_PUBLIC_HUB_URL`` and ``JUPYTERHUB_HOST`` are empty
unless ``c.JupyterHub.public_url`` (or ``subdomain_host``) is set, and then the first is
the user's own server URL (on the user's subdomain with ``subdomain_host``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from ak_salesforce_nb.server._redirect import HubInfo, RedirectPolicy

ORIGIN = "http://127.0.0.1:8000"  # the request's origin, as it came through the proxy


def spawner_env(
    *, public_url: str = "", subdomain_host: str = "", base_url: str = "/", user: str = "alice"
) -> dict[str, str]:
    """What `Spawner.get_env` sets for `user`'s default server."""
    if subdomain_host and not public_url:
        public_url = subdomain_host + base_url
    parts = urlsplit(public_url)
    public_host = f"{parts.scheme}://{parts.netloc}" if public_url else ""
    if subdomain_host:
        scheme, host = subdomain_host.split("://")
        server_url = f"{scheme}://{user}.{host}{base_url}user/{user}/"
    else:
        server_url = f"{public_host}{base_url}user/{user}/" if public_host else ""
    return {
        "JUPYTERHUB_API_TOKEN": "secret",
        "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{user}",
        "JUPYTERHUB_HOST": public_host,
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{base_url}user/{user}/oauth_callback",
        "JUPYTERHUB_USER": user,
        "JUPYTERHUB_SERVER_NAME": "",
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:8081{base_url}hub/api",
        "JUPYTERHUB_ACTIVITY_URL": f"http://127.0.0.1:8081{base_url}hub/api/users/{user}/activity",
        "JUPYTERHUB_BASE_URL": base_url,
        "JUPYTERHUB_SERVICE_PREFIX": f"{base_url}user/{user}/",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:54321{base_url}user/{user}/",
        "JUPYTERHUB_PUBLIC_URL": server_url,
        "JUPYTERHUB_PUBLIC_HUB_URL": f"{public_host}{base_url}hub/" if public_host else "",
    }


def hub_policy(
    env: dict[str, str], *, public_url: str = "", redirect_uri: str = ""
) -> RedirectPolicy:
    """The policy of the server extension running with `env` (default configuration)."""
    return RedirectPolicy(
        base_url=env.get("JUPYTERHUB_SERVICE_PREFIX", "/"),
        public_url=public_url,
        redirect_uri=redirect_uri,
        hub=HubInfo.from_environ(env),
    )


def test_no_public_url_uses_the_request_origin() -> None:
    env = spawner_env()
    policy = hub_policy(env)
    assert policy.callback_url(ORIGIN) == f"{ORIGIN}/hub/user-redirect/oauth/redirect/salesforce"
    assert policy.fixed_callback_url() == ""


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_public_url_gives_one_url_for_every_user(user: str) -> None:
    env = spawner_env(public_url="https://hub.example.org/", user=user)
    policy = hub_policy(env)
    expected = "https://hub.example.org/hub/user-redirect/oauth/redirect/salesforce"
    assert policy.callback_url("http://10.0.0.5:8888") == expected
    assert policy.fixed_callback_url() == expected


def test_hub_base_url_prefix() -> None:
    env = spawner_env(public_url="https://example.org/jupyter/", base_url="/jupyter/")
    expected = "https://example.org/jupyter/hub/user-redirect/oauth/redirect/salesforce"
    assert hub_policy(env).fixed_callback_url() == expected
    env = spawner_env(base_url="/jupyter/")
    assert hub_policy(env).callback_url(ORIGIN) == (
        f"{ORIGIN}/jupyter/hub/user-redirect/oauth/redirect/salesforce"
    )


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_subdomains_use_the_hub_host_not_the_user_subdomain(user: str) -> None:
    env = spawner_env(subdomain_host="https://hub.example.org", user=user)
    assert env["JUPYTERHUB_PUBLIC_URL"].startswith(f"https://{user}.hub.example.org/")
    policy = hub_policy(env)
    expected = "https://hub.example.org/hub/user-redirect/oauth/redirect/salesforce"
    assert policy.fixed_callback_url() == expected
    assert policy.callback_url(f"https://{user}.hub.example.org") == expected


def test_only_jupyterhub_host_known() -> None:
    env = spawner_env()
    env["JUPYTERHUB_HOST"] = "https://hub.example.org"
    expected = "https://hub.example.org/hub/user-redirect/oauth/redirect/salesforce"
    assert hub_policy(env).fixed_callback_url() == expected


def test_configuration_wins() -> None:
    env = spawner_env(public_url="https://internal.example.org/")
    policy = hub_policy(env, public_url="https://hub.example.org/user/alice/")
    assert policy.fixed_callback_url() == (
        "https://hub.example.org/hub/user-redirect/oauth/redirect/salesforce"
    )
    explicit = "https://hub.example.org/custom/callback"
    assert hub_policy(env, redirect_uri=explicit).callback_url(ORIGIN) == explicit


def test_hub_redirect_can_be_turned_off() -> None:
    env = spawner_env()
    policy = RedirectPolicy(
        base_url="/user/alice/", hub=HubInfo.from_environ(env), use_hub_redirect=False
    )
    assert policy.callback_url(ORIGIN) == f"{ORIGIN}/user/alice/oauth/redirect/salesforce"


def test_not_a_single_user_server() -> None:
    assert HubInfo.from_environ({}) is None
    # A hub-managed service has a prefix and an API URL but no JUPYTERHUB_USER; the
    # user-redirect route never reaches it.
    service = {
        "JUPYTERHUB_SERVICE_NAME": "shared",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/shared/",
        "JUPYTERHUB_BASE_URL": "/",
    }
    assert HubInfo.from_environ(service) is None
