"""A real JupyterHub on loopback: two users, one hub-wide Salesforce callback URL.

The hub (DummyAuthenticator, SimpleLocalProcessSpawner, configurable-http-proxy) runs in
a subprocess; every user's single-user server loads the ak_salesforce_nb server extension
and keeps its store under that user's own home. The Salesforce emulator registers only
``http://127.0.0.1:PROXY/hub/user-redirect/oauth/redirect/salesforce``. Each user's
"browser" is an httpx client with its own cookie jar, following redirects one by one.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest

import ak_salesforce_nb
from ak_salesforce_nb.core._environment import ENV_KEYRING
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.timeout(240)]

PASSWORD = "hub-test-password"
#: JupyterHub user -> the Salesforce (emulator) user they sign in as.
USERS = {"alice": "ada@example.com", "bob": "bob@example.com"}
CALLBACK_PATH = "/hub/user-redirect/oauth/redirect/salesforce"
CHP = "configurable-http-proxy"
#: The Consumer Secret of the hub's preset connection: in a file only the servers read.
PRESET_SECRET = "demo-client-secret"
HUB_START_TIMEOUT = 60.0
SPAWN_TIMEOUT = 90.0

HUB_CONFIG = """\
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_bind_url = {hub_bind_url!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api_url!r}
c.ConfigurableHTTPProxy.pid_file = {proxy_pid_file!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret_file!r}
c.JupyterHub.pid_file = {hub_pid_file!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = {users!r}

c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = {home_dir_template!r}
c.Spawner.ip = "127.0.0.1"
c.Spawner.cmd = {cmd!r}
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = {spawn_timeout!r}
c.Spawner.http_timeout = {spawn_timeout!r}
# Answer spawn requests at once (202) so that both servers start side by side.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}

c.JupyterHub.services = [{{"name": "hub-test", "api_token": {service_token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "hub-test",
        "scopes": ["admin:users", "admin:servers", "tokens"],
        "services": ["hub-test"],
    }}
]
"""


# -- helpers ---------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no hub log)"
    return "\n".join(text.splitlines()[-lines:])


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def hidden_input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    assert match, f"no hidden input {name!r} in:\n{page[:2000]}"
    return html.unescape(match.group(1))


def dump_store(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a user's store, read-only."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_if_ours(pid: int, marker: str) -> None:
    """SIGKILL `pid` if it still runs and its command line names `marker`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        if not pid_alive(pid):
            return
        cmdline = marker.encode()  # no /proc: trust the pid we recorded
    if marker.encode() in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Hops:
    """What a browser navigation went through."""

    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def last(self) -> httpx.Response:
        return self.responses[-1]

    @property
    def paths(self) -> list[str]:
        return [r.request.url.path for r in self.responses]


class Browser:
    """One user's browser: a cookie jar, redirects followed one at a time."""

    def __init__(self, hub_url: str) -> None:
        self.hub_url = hub_url
        self.client = httpx.Client(timeout=30.0, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def navigate(self, url: str, *, max_hops: int = 12) -> Hops:
        """GET `url` and follow redirects while they stay on the hub's origin."""
        hops = Hops()
        url = urljoin(self.hub_url, url)
        for _ in range(max_hops):
            response = self.client.get(url)
            hops.responses.append(response)
            if not response.is_redirect:
                return hops
            target = urljoin(str(response.url), response.headers["location"])
            if origin(target) != origin(self.hub_url):
                return hops  # leaving the hub (to Salesforce): the caller looks at it
            url = target
        raise AssertionError(f"too many redirects: {hops.paths}")

    def login(self, name: str) -> None:
        page = self.client.get(f"{self.hub_url}/hub/login")
        assert page.status_code == 200, page.text[:500]
        response = self.client.post(
            f"{self.hub_url}/hub/login",
            data={
                "username": name,
                "password": PASSWORD,
                "_xsrf": hidden_input(page.text, "_xsrf"),
            },
        )
        assert response.status_code == 302, f"login of {name} failed: {response.text[:500]}"
        assert "/hub/login" not in response.headers["location"]


@dataclass
class Hub:
    url: str
    tmp: Path
    log: Path
    api: httpx.Client
    emu: RunningEmulator
    tokens: dict[str, str] = field(default_factory=dict)
    browsers: dict[str, Browser] = field(default_factory=dict)

    @property
    def callback_url(self) -> str:
        return self.url + CALLBACK_PATH

    def home(self, name: str) -> Path:
        return self.tmp / "home" / name

    def store(self, name: str) -> Path:
        found = sorted(self.home(name).rglob("store.sqlite3"))
        assert len(found) == 1, f"{name}'s store under {self.home(name)}: {found}"
        return found[0]

    def rest(
        self, user: str, method: str, path: str, *, token: str | None = None, body: Any = None
    ) -> httpx.Response:
        """A call to `user`'s server's REST API, authenticated with `token`."""
        headers = {"Authorization": f"token {token}"} if token else {}
        return httpx.request(
            method,
            f"{self.url}/user/{user}/ak-salesforce/api/connections{path}",
            headers=headers,
            json=body,
            timeout=30.0,
            follow_redirects=False,
        )

    def api_json(self, user: str, method: str, path: str, body: Any = None) -> Any:
        response = self.rest(user, method, path, token=self.tokens[user], body=body)
        assert response.status_code == 200, (
            f"{method} {path} as {user}: {response.status_code} {response.text[:500]}\n"
            f"--- hub log ---\n{log_tail(self.log)}"
        )
        return response.json()


# -- the deployment ------------------------------------------------------------------


def hub_environment() -> dict[str, str]:
    """The hub's own environment: ours, minus anything that would leak into the users'."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTERHUB_", "AK_SALESFORCE_NB_", "JUPYTER_", "JPY_"))
    }
    if shutil.which(CHP, path=env.get("PATH")) is None:
        pytest.fail(
            f"{CHP} is not on PATH, so JupyterHub cannot start its proxy. Install it with "
            f"`npm install --prefix DIR {CHP}` and put DIR/node_modules/.bin on PATH, or "
            "run the tests through `make test` (which installs it under .venv/node and "
            "puts that on PATH).",
            pytrace=False,
        )
    return env


def singleuser_environment(tmp: Path, emu_url: str) -> dict[str, str]:
    """`Spawner.environment`: the extension enabled and importable, installed or not, and
    a preset connection ``team`` the administrator set up for every user (its secret in
    a file the users' servers read)."""
    config_dir = tmp / "singleuser-config"
    config_dir.mkdir()
    secret_file = tmp / "salesforce-team.secret"
    secret_file.write_text(PRESET_SECRET + "\n")
    secret_file.chmod(0o600)
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                # allow_root: CI containers often run as root; jupyter-server refuses then.
                "ServerApp": {
                    "jpserver_extensions": {"ak_salesforce_nb": True},
                    "allow_root": True,
                },
                "SalesforceOAuth": {
                    "http_timeout": 10.0,
                    "presets": {
                        "team": {
                            "client_id": "demo-client-id",
                            "login_url": emu_url,
                            "scopes": "api refresh_token",
                            "client_secret_file": str(secret_file),
                        }
                    },
                },
            }
        )
    )
    package_root = str(Path(ak_salesforce_nb.__file__).resolve().parent.parent)
    pythonpath = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        ENV_KEYRING: "off",
        "JUPYTER_CONFIG_PATH": str(config_dir),
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(pythonpath)),
    }


def wait_for_hub(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + HUB_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterHub exited with {proc.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/hub/api/", timeout=2.0).status_code == 200:
                return
        time.sleep(0.25)
    pytest.fail(f"JupyterHub did not answer in {HUB_START_TIMEOUT:g} s:\n{log_tail(log)}")


def spawn(hub: Hub, names: list[str], pids: list[int]) -> None:
    """Start the users' default servers side by side; wait until ready; note their pids."""
    for name in names:
        response = hub.api.post(f"/users/{name}/server")
        assert response.status_code in (201, 202), response.text
    deadline = time.monotonic() + SPAWN_TIMEOUT
    for name in names:
        while True:
            model = hub.api.get(f"/users/{name}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                pids.append(int(server.get("state", {}).get("pid", 0)))
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{name}'s server not ready in {SPAWN_TIMEOUT:g} s: {model}\n"
                    f"{log_tail(hub.log)}"
                )
            time.sleep(0.25)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    env = hub_environment()
    proxy_port, hub_port, proxy_api_port = free_ports(3)
    url = f"http://127.0.0.1:{proxy_port}"
    service_token = secrets.token_hex(32)
    (tmp_path / "home").mkdir()
    emu_config = EmulatorConfig(
        auto_approve=False,
        callback_urls=[url + CALLBACK_PATH],
        users={email: "demo" for email in USERS.values()},
        accounts=100,
    )
    emu = start_emulator(emu_config)
    config = HUB_CONFIG.format(
        bind_url=f"{url}/",
        hub_bind_url=f"http://127.0.0.1:{hub_port}",
        proxy_api_url=f"http://127.0.0.1:{proxy_api_port}",
        proxy_pid_file=str(tmp_path / "proxy.pid"),
        db_url=f"sqlite:///{tmp_path / 'jupyterhub.sqlite'}",
        cookie_secret_file=str(tmp_path / "cookie_secret"),
        hub_pid_file=str(tmp_path / "hub.pid"),
        password=PASSWORD,
        users=set(USERS),
        home_dir_template=str(tmp_path / "home" / "{username}"),
        cmd=[sys.executable, "-m", "jupyterhub.singleuser"],
        environment=singleuser_environment(tmp_path, emu.url),
        spawn_timeout=int(SPAWN_TIMEOUT),
        service_token=service_token,
    )
    config_file = tmp_path / "jupyterhub_config.py"
    config_file.write_text(config)
    log = tmp_path / "jupyterhub.log"
    pids: list[int] = []
    with emu, log.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config_file)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        api = httpx.Client(
            base_url=f"{url}/hub/api",
            headers={"Authorization": f"token {service_token}"},
            timeout=30.0,
        )
        deployment = Hub(url=url, tmp=tmp_path, log=log, api=api, emu=emu)
        try:
            wait_for_hub(proc, url, log)
            for name in USERS:
                deployment.browsers[name] = Browser(url)
            # 1. Both users log in; their servers are spawned and become ready.
            for name, browser in deployment.browsers.items():
                browser.login(name)
            spawn(deployment, list(USERS), pids)
            for name in USERS:
                response = api.post(
                    f"/users/{name}/tokens", json={"note": "hub test", "expires_in": 900}
                )
                assert response.status_code == 201, response.text
                deployment.tokens[name] = response.json()["token"]
            yield deployment
        finally:
            for browser in deployment.browsers.values():
                browser.close()
            api.close()
            proxy_pid = 0
            with contextlib.suppress(OSError, ValueError):
                proxy_pid = int((tmp_path / "proxy.pid").read_text().strip())
            # Stopping the hub stops the users' servers and the proxy it started.
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            for pid in pids:
                if pid:
                    kill_if_ours(pid, "jupyterhub.singleuser")
            if proxy_pid:
                kill_if_ours(proxy_pid, CHP)
            # Shown by pytest only when the test fails.
            print(f"--- {log} (tail) ---\n{log_tail(log, 80)}")


# -- the flow --------------------------------------------------------------------------


def salesforce_sign_in(hub: Hub, name: str, authorize_url: str) -> str:
    """In the emulator, as `name`'s browser: log in, Allow; the callback URL it sends."""
    client = hub.browsers[name].client
    emu = hub.emu.url
    page = client.get(authorize_url)
    assert page.status_code == 200, page.text[:1000]
    assert 'id="login_form"' in page.text, page.text[:1000]
    consent = client.post(
        f"{emu}/login",
        data={
            "pending": hidden_input(page.text, "pending"),
            "username": USERS[name],
            "password": "demo",
        },
    )
    assert consent.status_code == 200, consent.text[:1000]
    assert 'id="oaapprove"' in consent.text, consent.text[:1000]
    allowed = client.post(
        f"{emu}/consent",
        data={"pending": hidden_input(consent.text, "pending"), "decision": "allow"},
    )
    assert allowed.status_code == 302, allowed.text[:1000]
    return str(allowed.headers["location"])


def start_authorization(
    hub: Hub, name: str, connection: str = "prod"
) -> tuple[str, dict[str, str]]:
    """`POST …/authorize`, then open the start URL in `name`'s browser: → Salesforce."""
    started = hub.api_json(name, "POST", f"/{connection}/authorize")
    assert started["callback_url"] == hub.callback_url
    assert started["authorize_url"].startswith(f"/user/{name}/oauth/start/salesforce?state=")
    hops = hub.browsers[name].navigate(started["authorize_url"])
    leaving = hops.last
    assert leaving.status_code == 302, (hops.paths, leaving.text[:1000], log_tail(hub.log))
    authorize_url = urljoin(str(leaving.url), leaving.headers["location"])
    assert authorize_url.startswith(f"{hub.emu.url}/services/oauth2/authorize?"), authorize_url
    query = dict(parse_qsl(urlsplit(authorize_url).query))
    assert query["redirect_uri"] == hub.callback_url
    return authorize_url, query


def deliver_callback(hub: Hub, browser: str, callback: str) -> Hops:
    """Follow Salesforce's redirect to the hub-wide callback URL in `browser`'s browser."""
    assert callback.startswith(hub.callback_url + "?"), callback
    hops = hub.browsers[browser].navigate(callback)
    assert f"/user/{browser}/oauth/redirect/salesforce" in hops.paths, hops.paths
    return hops


def test_one_callback_url_for_every_hub_user(hub: Hub) -> None:
    # 2. Each user creates `prod` through their own server's REST API and starts it.
    for name in USERS:
        record = hub.api_json(
            name,
            "PUT",
            "/prod",
            body={
                "client_id": "demo-client-id",
                "client_secret": "demo-client-secret",
                "login_url": hub.emu.url,
            },
        )
        assert record["callback_url"] == hub.callback_url
        listing = hub.api_json(name, "GET", "")
        assert listing["callback_url"] == hub.callback_url
        # 3. Salesforce: log in as this user's own Salesforce user, Allow, come back.
        authorize_url, query = start_authorization(hub, name)
        callback = salesforce_sign_in(hub, name, authorize_url)
        assert dict(parse_qsl(urlsplit(callback).query))["state"] == query["state"]
        page = deliver_callback(hub, name, callback).last
        assert page.status_code == 200, page.text[:2000]
        assert 'data-outcome="connected"' in page.text
        assert "Connected to Salesforce" in page.text

    # 4. Each is connected as their own Salesforce user, with the hub-wide callback URL.
    for name, email in USERS.items():
        record = hub.api_json(name, "GET", "/prod")
        assert record["state"] == "connected", record
        assert record["username"] == email
        assert record["callback_url"] == hub.callback_url
    # Each user's store lives under that user's home, nowhere else.
    stores = {name: hub.store(name) for name in USERS}
    assert stores["alice"] != stores["bob"]
    assert len(list(hub.tmp.rglob("store.sqlite3"))) == len(USERS)

    # 5. Isolation: alice's pending authorization delivered through bob's browser.
    authorize_url, query = start_authorization(hub, "alice")
    reply = hub.browsers["alice"].client.get(authorize_url)  # signed in, consented: a code
    assert reply.status_code == 302, reply.text[:1000]
    callback = str(reply.headers["location"])
    params = dict(parse_qsl(urlsplit(callback).query))
    assert params["state"] == query["state"]
    assert params["code"]
    alice_before = hub.api_json("alice", "GET", "/prod")
    bob_before = hub.api_json("bob", "GET", "/prod")
    stores_before = {name: dump_store(path) for name, path in stores.items()}
    grants_before = hub.emu.stats.get("code_grants", 0)

    page = deliver_callback(hub, "bob", callback).last
    assert page.status_code == 400, page.text[:2000]
    assert 'data-outcome="error"' in page.text
    assert "Sign-in link not valid" in page.text
    assert "not known to this Jupyter server" in page.text
    assert hub.emu.stats.get("code_grants", 0) == grants_before  # never exchanged
    assert {name: dump_store(path) for name, path in stores.items()} == stores_before
    assert hub.api_json("alice", "GET", "/prod") == alice_before
    assert hub.api_json("bob", "GET", "/prod") == bob_before
    assert bob_before["username"] == "bob@example.com"

    # Bob cannot reach alice's server: not with his token, not with his cookies.
    for method, path in (("GET", ""), ("GET", "/prod"), ("POST", "/prod/authorize")):
        response = hub.rest("alice", method, path, token=hub.tokens["bob"])
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        anonymous = hub.rest("alice", method, path)
        assert anonymous.status_code in (401, 403) or (
            anonymous.is_redirect and "/hub/" in anonymous.headers["location"]
        ), (method, path, anonymous.status_code, anonymous.text[:500])
    hops = hub.browsers["bob"].navigate("/user/alice/ak-salesforce/api/connections")
    assert hops.last.status_code in (401, 403), (hops.paths, hops.last.text[:500])
    assert "demo-client-id" not in hops.last.text
    hops = hub.browsers["bob"].navigate(
        f"/user/alice/oauth/start/salesforce?state={query['state']}"
    )
    assert hops.last.status_code in (401, 403), (hops.paths, hops.last.text[:500])
    assert {name: dump_store(path) for name, path in stores.items()} == stores_before

    # Alice's state still works, through her own browser.
    page = deliver_callback(hub, "alice", callback).last
    assert page.status_code == 200, page.text[:2000]
    assert 'data-outcome="connected"' in page.text
    assert hub.emu.stats.get("code_grants", 0) == grants_before + 1
    record = hub.api_json("alice", "GET", "/prod")
    assert record["state"] == "connected"
    assert record["username"] == "ada@example.com"
    assert hub.api_json("bob", "GET", "/prod") == bob_before


def test_a_preset_for_every_hub_user(hub: Hub) -> None:
    """The administrator's ``team`` preset is in every user's own store; each user only
    authorizes (as their own Salesforce user), cannot change it, and the secret never
    reaches their browser."""
    seen: list[str] = []  # every body a user's browser or client received
    for name, email in USERS.items():
        listing = hub.rest(name, "GET", "", token=hub.tokens[name])
        assert listing.status_code == 200, listing.text
        seen.append(listing.text)
        team = {c["name"]: c for c in listing.json()["connections"]}["team"]
        assert (team["preset"], team["state"], team["has_client_secret"]) == (True, "ready", True)
        assert team["login_url"] == hub.emu.url

        authorize_url, _ = start_authorization(hub, name, "team")
        callback = salesforce_sign_in(hub, name, authorize_url)
        hops = deliver_callback(hub, name, callback)
        seen.extend(r.text for r in hops.responses)
        assert hops.last.status_code == 200, hops.last.text[:2000]
        assert 'data-outcome="connected"' in hops.last.text

        refused = hub.rest(name, "PUT", "/team", token=hub.tokens[name], body={"client_id": "mine"})
        assert refused.status_code == 409, refused.text
        assert "set up by your administrator" in refused.text
        seen.append(refused.text)
        checked = hub.rest(name, "POST", "/team/check", token=hub.tokens[name], body={})
        assert checked.status_code == 200, checked.text
        assert checked.json()["outcome"] == "connected"
        seen.append(checked.text)
        record = hub.api_json(name, "GET", "/team")
        assert (record["state"], record["username"]) == ("connected", email)
        seen.append(json.dumps(record))

    # Each user's tokens live in their own store only; the secret is sealed in each.
    stores = {name: hub.store(name) for name in USERS}
    assert stores["alice"] != stores["bob"]
    for path in stores.values():
        assert PRESET_SECRET.encode() not in path.read_bytes()
    for body in seen:
        assert PRESET_SECRET not in body
    # A hub user cannot use another's preset connection either.
    response = hub.rest("alice", "POST", "/team/check", token=hub.tokens["bob"], body={})
    assert response.status_code == 403
