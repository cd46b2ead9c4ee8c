"""`aksf.login`: the widget-free sign-in, blocking, against the emulator.

No Jupyter server runs here: the device flow's verification page and the authorize page
are the emulator's, opened the way a person's browser would open them.
"""

from __future__ import annotations

import _thread
import threading
from pathlib import Path

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._login import _print_code
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.kernel.flows import approve_link, open_verification_page


def test_device_login_returns_a_working_session(
    flows_emu: RunningEmulator, store_path: Path
) -> None:
    shown: list[tuple[str, str]] = []

    def on_code(uri: str, code: str) -> None:
        shown.append((uri, code))
        open_verification_page(uri, code)

    sf = aksf.login(
        "prod",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        login_url=flows_emu.url,
        on_code=on_code,
    )
    assert shown and shown[0][0] == f"{flows_emu.url}/setup/connect"
    assert len(shown[0][1]) == 8
    assert len(sf.query("SELECT Id FROM Account LIMIT 2")) == 2
    record = ConnectionStore(store_path).get_connection("prod")
    assert record.state == "connected" and record.username == "ada@example.com"
    before = flows_emu.stats["refresh_grants"]
    flows_emu.expire_access_tokens()  # the org's session timeout passes
    assert len(sf.query("SELECT Id FROM Account LIMIT 2")) == 2
    assert flows_emu.stats["refresh_grants"] == before + 1
    sf.close()
    # Signed in again later: the stored app is reused, nothing to give but the flow.
    again = aksf.login("prod", on_code=open_verification_page)
    assert len(again.query("SELECT Id FROM Account LIMIT 1")) == 1
    again.close()


def test_default_on_code_prints_both_and_opens_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    _print_code("https://login.salesforce.com/setup/connect", "ABCD2345")
    out = capsys.readouterr().out
    assert "https://login.salesforce.com/setup/connect" in out and "ABCD2345" in out


def test_device_login_public_client(flows_emu: RunningEmulator, store_path: Path) -> None:
    flows_emu.config.require_client_secret = False
    record_sf = aksf.login(
        "pub", client_id=CLIENT_ID, login_url=flows_emu.url, on_code=open_verification_page
    )
    assert not ConnectionStore(store_path).get_connection("pub").has_client_secret
    assert len(record_sf.query("SELECT Id FROM Contact LIMIT 1")) == 1
    # The access token dies: the session refreshes without a secret, as a public client.
    before = flows_emu.stats["refresh_grants"]
    flows_emu.expire_access_tokens()
    assert len(record_sf.query("SELECT Id FROM Contact LIMIT 1")) == 1
    assert flows_emu.stats["refresh_grants"] == before + 1
    record_sf.close()


def test_app_not_enabled_for_device_flow(flows_emu: RunningEmulator, store_path: Path) -> None:
    flows_emu.config.device_flow = False
    with pytest.raises(aksf.FlowNotEnabled, match="Enable for Device Flow") as info:
        aksf.login(
            "prod", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, login_url=flows_emu.url
        )
    assert 'flow="paste"' in str(info.value)


def test_wrong_client_id(flows_emu: RunningEmulator, store_path: Path) -> None:
    with pytest.raises(aksf.TokenRequestError, match="does not know this Client ID"):
        aksf.login("prod", client_id="not-my-app", login_url=flows_emu.url)


def test_ctrl_c_cancels_the_wait(flows_emu: RunningEmulator, store_path: Path) -> None:
    def on_code(uri: str, code: str) -> None:
        threading.Timer(0.3, _thread.interrupt_main).start()  # nobody approves

    with pytest.raises(aksf.AuthorizationCancelled, match="Ctrl-C"):
        aksf.login(
            "prod",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            login_url=flows_emu.url,
            on_code=on_code,
        )
    assert ConnectionStore(store_path).get_tokens("prod") is None


def test_paste_login_reads_the_address_with_input(
    flows_emu: RunningEmulator, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers: list[str] = []
    links: list[str] = []

    def read(prompt: str) -> str:
        printed = capsys.readouterr().out
        links.extend(word for word in printed.split() if "/services/oauth2/authorize?" in word)
        answers.append(prompt)
        if len(answers) == 1:
            return "   "  # an empty paste: asked again, the link still works
        assert "Nothing was pasted" in printed
        return approve_link(links[0])

    sf = aksf.login(
        "prod",
        flow="paste",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        login_url=flows_emu.url,
        read_address=read,
    )
    assert len(answers) == 2
    assert len(sf.query("SELECT Id FROM Account LIMIT 1")) == 1
    sf.close()


def test_paste_login_end_of_input_cancels(flows_emu: RunningEmulator, store_path: Path) -> None:
    def closed(prompt: str) -> str:
        raise EOFError

    with pytest.raises(aksf.AuthorizationCancelled, match="no address"):
        aksf.login(
            "prod",
            flow="paste",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            login_url=flows_emu.url,
            read_address=closed,
        )


def test_refused_arguments(store_path: Path) -> None:
    with pytest.raises(aksf.ConfigurationError, match="not set up yet"):
        aksf.login("nothing")
    with pytest.raises(aksf.ConfigurationError, match=r"aksf\.connect"):
        aksf.login("prod", flow="server", client_id="x")
    with pytest.raises(aksf.ConfigurationError, match="not a Salesforce login host"):
        aksf.login("prod", client_id="x", login_url="https://login.example.org")
