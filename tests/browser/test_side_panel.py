"""The JupyterLab extension's side panel in a real browser: add a connection, authorize
it through the popup, see it connected; messages from a foreign origin are ignored; and
its badge, like the connect form's, tells the truth: a token revoked at Salesforce turns
both to *reauthorization required* within seconds, with no cell run and no click, and
their Test buttons show their result in the badge."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from ak_salesforce_nb.emulator import RunningEmulator
from tests.browser.conftest import Lab, running_jupyter, screenshot
from tests.browser.test_notebook_journey import form_in, run_cell, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

CONNECTIONS_API = "ak-salesforce/api/connections"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab whose side panel has connections checked every 2 s (5 s at the least,
    the floor every view shares) instead of 30, so the tests see a revocation soon."""
    with running_jupyter(
        tmp_path_factory,
        "jupyterlab",
        "/jl/",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--SalesforceOAuth.check_interval=2",
    ) as running:
        yield running


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


def create_connection(lab: Lab, emulator: RunningEmulator, name: str) -> None:
    response = httpx.put(
        f"{lab.url}{CONNECTIONS_API}/{name}",
        headers={"Authorization": f"token {lab.token}"},
        json={
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
            "login_url": emulator.url,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


def sign_in_allowing(popup: Any) -> None:
    """Log in to the emulator if asked, and Allow if it asks (once this user has allowed
    the app, it does not: the popup goes straight back and closes)."""
    popup.wait_for_load_state()
    username = popup.locator("#username")
    approve = popup.locator("#oaapprove")
    username.or_(approve).first.wait_for()
    if username.is_visible():
        username.fill("ada@example.com")
        popup.locator("#password").fill("demo")
        popup.locator("#Login").click()
    with contextlib.suppress(PlaywrightError):  # closed: no consent page this time
        approve.click(timeout=5_000)


def panel_state_is(page: Any, name: str, state: str, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "([name, state]) => document.querySelector(`[data-testid='aksf-state-${name}']`)"
        "?.textContent.trim() === state",
        arg=[name, state],
        timeout=timeout,
    )


def test_panel_test_button_and_a_revoked_token(
    page: Any, lab: Lab, browser_emulator: RunningEmulator
) -> None:
    create_connection(lab, browser_emulator, "checked")
    panel = open_panel(page, lab)
    panel_state_is(page, "checked", "ready")
    with page.expect_popup() as info:
        panel.get_by_role("button", name="Authorize checked", exact=True).click()
    sign_in_allowing(info.value)
    panel_state_is(page, "checked", "connected")
    assert "checked just now" in panel.get_by_test_id("aksf-checked-checked").inner_text()

    page.wait_for_timeout(5_200)  # past the 5 s floor: the Test asks Salesforce itself
    asked = browser_emulator.stats["userinfo_requests"]
    panel.get_by_role("button", name="Test checked", exact=True).click()
    note = panel.get_by_test_id("aksf-note-checked")
    note.get_by_text("Test passed in", exact=False).wait_for(timeout=15_000)
    assert browser_emulator.stats["userinfo_requests"] > asked
    panel_state_is(page, "checked", "connected")
    screenshot(page, "side-panel-test-passed.png")

    # An admin revokes the app: the panel finds out by itself, within seconds.
    browser_emulator.revoke_refresh_tokens()
    panel_state_is(page, "checked", "reauthorization_required", timeout=25_000)
    message = panel.get_by_test_id("aksf-message-checked").inner_text()
    assert "must be authorized again" in message
    screenshot(page, "side-panel-reauthorization-required.png")


def test_form_and_panel_agree_on_a_revoked_token(
    page: Any, lab: Lab, browser_emulator: RunningEmulator
) -> None:
    """The connect form in a notebook and the side panel show one connection; its token
    revoked at Salesforce, both turn to reauthorization required without a cell run."""
    emu = browser_emulator.url
    lab.write_notebook(
        "badge.ipynb",
        [
            "import ak_salesforce_nb as aksf\n"
            f'aksf.connect("badge", login_url="{emu}", check_interval=2)'
        ],
    )
    page.goto(lab.page_url("lab/tree/badge.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    form = form_in(run_cell(page, 0))
    form.get_by_placeholder("Consumer Key of your external client app").fill("demo-client-id")
    form.locator("input[type=password]").fill("demo-client-secret")
    with page.expect_popup() as info:
        form.get_by_test_id("aksf-authorize-button").click()
    sign_in_allowing(info.value)
    form.locator(".aksf-state[data-state='connected']").wait_for(timeout=20_000)
    assert "checked just now" in form.locator(".aksf-state").inner_text()

    # The form's Test: the badge says checking, then the result, and a line says so.
    form.get_by_role("button", name="Test").click()
    form.get_by_text("Test passed", exact=False).wait_for(timeout=15_000)
    form.locator(".aksf-state[data-state='connected']").wait_for()

    panel = page.get_by_test_id("aksf-panel")
    if not panel.is_visible():  # the restored layout may show it already
        page.locator('.lm-TabBar-tab[data-id="ak-salesforce-nb:panel"]').click()
    panel.wait_for()
    panel_state_is(page, "badge", "connected")
    screenshot(page, "form-and-panel-connected.png")

    browser_emulator.revoke_refresh_tokens()
    form.locator(".aksf-state[data-state='reauthorization_required']").wait_for(timeout=25_000)
    panel_state_is(page, "badge", "reauthorization_required", timeout=25_000)
    assert "must be authorized again" in form.inner_text()
    prompt = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt")
    assert prompt.inner_text().strip() == "[1]:"  # no cell ran since the form's
    screenshot(page, "form-and-panel-reauthorization-required.png")
