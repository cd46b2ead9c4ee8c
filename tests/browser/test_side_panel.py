"""The JupyterLab extension's side panel in a real browser: add a connection, authorize
it through the popup, see it connected; and messages from a foreign origin are ignored."""

from __future__ import annotations

from typing import Any

import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from tests.browser.conftest import Lab, screenshot
from tests.browser.test_notebook_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

CONNECTIONS_API = "ak-salesforce/api/connections"


def open_panel(page: Any, lab: Lab) -> Any:
    page.goto(lab.page_url("lab"))
    tab = page.locator('.lm-TabBar-tab[data-id="ak-salesforce-nb:panel"]')
    tab.wait_for(timeout=60_000)
    panel = page.get_by_test_id("aksf-panel")
    page.wait_for_timeout(500)  # the restored layout may already show it
    if not panel.is_visible():
        tab.click()
    panel.wait_for()
    return panel


def test_add_authorize_and_see_connected(
    page: Any, lab: Lab, browser_emulator: RunningEmulator
) -> None:
    panel = open_panel(page, lab)
    assert (
        "/jl/oauth/redirect/salesforce" in panel.get_by_test_id("aksf-panel-callback").inner_text()
    )

    # Validation happens before anything is sent.
    panel.get_by_test_id("aksf-add-name").fill("bad name!")
    panel.get_by_test_id("aksf-add-submit").click()
    assert panel.get_by_test_id("aksf-add-error").inner_text().strip()

    panel.get_by_test_id("aksf-add-name").fill("panel")
    panel.get_by_test_id("aksf-add-client-id").fill("demo-client-id")
    panel.get_by_test_id("aksf-add-client-secret").fill("demo-client-secret")
    panel.get_by_test_id("aksf-add-login-host").select_option("custom")
    panel.get_by_test_id("aksf-add-login-url").fill(browser_emulator.url)
    panel.get_by_test_id("aksf-add-submit").click()
    state = panel.get_by_test_id("aksf-state-panel")
    state.wait_for()
    assert state.inner_text().strip() == "ready"

    with page.expect_popup() as info:
        panel.get_by_test_id("aksf-authorize-panel").click()
    sign_in(info.value, allow=True)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"aksf-state-panel\"]')"
        "?.textContent.trim() === 'connected'",
        timeout=20_000,
    )
    assert "ada@example.com" in panel.get_by_test_id("aksf-connection-panel").inner_text()
    screenshot(page, "side-panel-connected.png")


def test_foreign_origin_message_is_ignored(
    page: Any, lab: Lab, browser_emulator: RunningEmulator
) -> None:
    """A valid-looking result posted from another origin must not move the panel, while
    the same message from our own origin does (the panel re-reads its connections)."""
    open_panel(page, lab)
    requests: list[str] = []
    page.on(
        "request",
        lambda r: (
            requests.append(r.url) if CONNECTIONS_API in r.url and r.method == "GET" else None
        ),
    )
    message = {"type": "ak-salesforce-nb:oauth", "name": "panel", "state": "connected"}

    with page.expect_popup() as info:
        page.evaluate(
            "url => { window.open(url, 'foreign'); }", browser_emulator.url + "/services/data/"
        )
    foreign = info.value
    foreign.wait_for_load_state()
    page.wait_for_timeout(300)
    requests.clear()
    foreign.evaluate("m => window.opener.postMessage(m, '*')", message)
    page.wait_for_timeout(800)
    assert requests == [], "a foreign-origin message made the panel act"

    # Positive control: the same message from our own origin is acted on at once.
    page.evaluate("m => window.postMessage(m, window.location.origin)", message)
    page.wait_for_timeout(800)
    assert requests, "an own-origin message was ignored: the check above proves nothing"
