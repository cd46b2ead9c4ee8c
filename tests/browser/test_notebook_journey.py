"""A newcomer's whole path in a real browser: connect form → popup login and consent →
connected → a query → the deny and wrong-secret paths → a saved notebook with no secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from tests.browser.conftest import Lab, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

SECRET = "demo-client-secret"


def wait_for_idle_kernel(page: Any) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
        ".some(e => e.textContent.includes('| Idle'))",
        timeout=90_000,
    )


def run_cell(page: Any, index: int, *, status_bar: bool = True) -> Any:
    """Run cell `index` and wait until the kernel took it (its prompt shows [*] or [n]).
    Without a status bar (Notebook 7) there is no idle kernel to wait for first."""
    if status_bar:
        wait_for_idle_kernel(page)
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(3):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        for _ in range(100):
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return cell
            page.wait_for_timeout(100)
    raise AssertionError(f"cell {index} did not run")


def form_in(cell: Any) -> Any:
    form = cell.locator(".aksf-connect-form")
    form.wait_for(timeout=90_000)  # the first run also starts the kernel
    return form


def sign_in(popup: Any, *, allow: bool) -> None:
    """On the emulator's pages: log in if asked, then Allow or Deny."""
    popup.wait_for_load_state()
    username = popup.locator("#username")
    decision = popup.locator("#oaapprove" if allow else "#oadeny")
    username.or_(decision).first.wait_for()
    if username.is_visible():
        username.fill("ada@example.com")
        popup.locator("#password").fill("demo")
        popup.locator("#Login").click()
    decision.click()


def authorize(page: Any, form: Any, *, allow: bool | None) -> Any:
    with page.expect_popup() as info:
        form.get_by_test_id("aksf-authorize-button").click()
    popup = info.value
    if allow is not None:
        sign_in(popup, allow=allow)
    return popup


def authorize_and_wait_connected(page: Any, form: Any) -> None:
    """Authorize, log in and Allow in the popup: the form turns connected by itself,
    showing the emulator user, and the popup closes."""
    popup = authorize(page, form, allow=True)
    page.wait_for_function(
        "() => document.querySelector('.aksf-state')?.dataset.state === 'connected'",
        timeout=15_000,
    )
    form.locator(".aksf-details").get_by_text("ada@example.com", exact=False).wait_for()
    popup.wait_for_event("close", timeout=10_000)


def state_of(form: Any) -> Any:
    return form.locator(".aksf-state")


def test_connect_query_deny_wrong_secret_and_save(
    page: Any, lab: Lab, browser_emulator: RunningEmulator
) -> None:
    emu = browser_emulator.url
    path = lab.write_notebook(
        "journey.ipynb",
        [
            f'import ak_salesforce_nb as aksf\naksf.connect("prod", login_url="{emu}")',
            'aksf.session("prod").query("SELECT Name, Industry FROM Account LIMIT 5")',
            f'aksf.connect("wrong", login_url="{emu}")',
        ],
    )
    page.goto(lab.page_url("lab/tree/journey.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()

    # 2. the connect form: client id and secret typed in, then Authorize.
    form = form_in(run_cell(page, 0))
    form.get_by_placeholder("Consumer Key of your external client app").fill("demo-client-id")
    form.locator("input[type=password]").fill(SECRET)
    callback = form.get_by_test_id("aksf-callback-url")
    callback.wait_for()
    assert "/jl/oauth/redirect/salesforce" in callback.inner_text()
    screenshot(page, "step2-connect-form.png")

    # 6a. Deny: the form says so, clearly.
    popup = authorize(page, form, allow=False)
    page.wait_for_function("() => document.querySelector('.aksf-state')?.dataset.state === 'error'")
    assert "access_denied" in form.inner_text()
    assert "Allow" in form.inner_text()  # what to do next
    assert "Access not allowed" in popup.locator("h1").inner_text()
    popup.close()  # the person reads the page and closes it

    # 3-4. Authorize again; log in and Allow; the form turns connected by itself.
    authorize_and_wait_connected(page, form)
    screenshot(page, "step4-connected.png")

    # 5. A query shows a table.
    cell = run_cell(page, 1)
    table = cell.locator("table.dataframe")
    table.wait_for()
    assert table.locator("tbody tr").count() == 5
    assert "Industry" in table.inner_text()
    screenshot(page, "step5-query.png")

    # 6b. A wrong secret: a clear error in that form.
    wrong = form_in(run_cell(page, 2))
    wrong.get_by_placeholder("Consumer Key of your external client app").fill("demo-client-id")
    wrong.locator("input[type=password]").fill("not-the-secret")
    authorize(page, wrong, allow=None)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.aksf-state')]"
        ".some(e => e.dataset.state === 'error')",
        timeout=20_000,
    )
    assert "Client Secret is wrong" in wrong.inner_text()

    # 7. Save with widget state; no secret, no token in the file.
    before = path.stat().st_mtime
    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.title.startsWith('●')", timeout=10_000)
    for _ in range(50):
        if path.stat().st_mtime != before:
            break
        page.wait_for_timeout(100)
    text = path.read_text()
    saved = json.loads(text)
    assert saved["metadata"].get("widgets"), "the widget state was not saved, nothing was checked"
    tokens = ConnectionStore(lab.store_path).get_tokens("prod")
    assert tokens is not None
    for secret in (SECRET, "not-the-secret", tokens.access_token, str(tokens.refresh_token)):
        assert secret not in text
    log = Path(lab.log_path).read_text()
    for secret in (SECRET, tokens.access_token, str(tokens.refresh_token)):
        assert secret not in log
