"""Accessibility in a real browser: axe-core on the connect form (every state), the session
card, the explorer and the side panel, in JupyterLab's light and dark themes; and the form
and the panel driven by the keyboard alone, through the emulator's sign-in pages.

axe-core comes from npm as a devDependency of the labextension (`labextension/package.json`,
pinned by its yarn.lock), so the same engine runs on every machine; the package's editable
install (`jlpm install`) brings it, and this module installs it when it is missing, as the
labextension's unit test does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator
from tests.browser.conftest import Lab, running_jupyter, screenshot
from tests.browser.test_notebook_journey import form_in, run_cell, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"
AXE = LABEXTENSION / "node_modules" / "axe-core" / "axe.min.js"
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
# WCAG 2.0-2.2, levels A and AA (contrast 4.5:1 for text among them), and axe's best
# practices for widgets (an accessible name on every control, among others).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Page-level best practices that judge JupyterLab's own shell (its landmarks, its single
# <h1>), not the widgets inside it; everything else applies to our nodes.
PAGE_LEVEL_RULES = ["region", "landmark-one-main", "page-has-heading-one"]
CLIENT_ID, CLIENT_SECRET = "demo-client-id", "demo-client-secret"

RUN_AXE = r"""
async ({nodes, tags, disabled, bodyHeight = true}) => {
  // JupyterLab lays its shell out with absolute positioning, so <body> has no height of
  // its own (and hides what overflows it). axe takes every text outside the body's box for
  // text nobody can see, and its color-contrast rule then skips it without a word: no
  // violation, nothing "incomplete". A body as tall as the viewport puts the shell inside
  // it, and the rule measures every text (test_the_audit_finds_poor_contrast shows both).
  document.body.style.minHeight = bodyHeight ? '100vh' : '';
  const rules = Object.fromEntries(disabled.map(id => [id, {enabled: false}]));
  const result = await axe.run(
    {include: nodes},
    {runOnly: {type: 'tag', values: tags}, rules, resultTypes: ['violations', 'incomplete']}
  );
  // Where axe gives up on a <select> (ipywidgets draws a dropdown's arrow as a background
  // image; a list box's options reach past its scrolled box, which axe takes for an
  // overlap), measure its text against its own background colour (or the first opaque
  // one behind it) instead, so no text goes unchecked.
  const SELECT_REASONS = ['bgImage', 'elmPartiallyObscured'];
  const rgba = text => {
    const v = (text.match(/[\d.]+/g) || []).map(Number);
    return [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0, v.length > 3 ? v[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((c, i) => c * top[3] + below[i] * (1 - top[3]));
  const luminance = rgb => {
    const [r, g, b] = rgb.map(c => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ownContrast = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let bg = [255, 255, 255];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    const fg = over(rgba(getComputedStyle(el).color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const selectBox = n => n.any.some(c => c.data && SELECT_REASONS.includes(c.data.messageKey))
    && document.querySelector(n.target[0])?.tagName === 'SELECT';
  for (const rule of result.incomplete.filter(v => v.id === 'color-contrast')) {
    const kept = [];
    for (const n of rule.nodes) {
      if (!selectBox(n)) {
        kept.push(n);
        continue;
      }
      const ratio = ownContrast(document.querySelector(n.target[0]));
      if (ratio < 4.5) {
        n.failureSummary = `contrast ${ratio.toFixed(2)}:1 against its background colour`;
        result.violations.push({id: 'color-contrast', impact: 'serious', nodes: [n]});
      }
    }
    rule.nodes = kept;
  }
  const found = list => list.map(n => ({
    target: n.target.join(' '),
    html: n.html.slice(0, 160),
    summary: (n.failureSummary || '') + ' ' +
      JSON.stringify((n.any || []).map(c => c.data && c.data.messageKey).filter(Boolean)),
  }));
  return {
    violations: result.violations.map(v => ({id: v.id, impact: v.impact, nodes: found(v.nodes)})),
    // Contrast axe could not measure is contrast nobody checked.
    unmeasured: result.incomplete
      .filter(v => v.id === 'color-contrast' && v.nodes.length > 0)
      .map(v => ({id: v.id, impact: v.impact, nodes: found(v.nodes)})),
  };
}
"""


# ---- fixtures and helpers ------------------------------------------------------------


def _jlpm() -> list[str]:
    sibling = Path(sys.executable).with_name("jlpm")
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("jlpm")
    if found is None:
        pytest.fail("jlpm not found: install jupyterlab (it ships jlpm) in this environment")
    return [found]


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's browser bundle from the labextension's devDependencies."""
    if not AXE.exists():
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        proc = subprocess.run(
            [*_jlpm(), "install"],
            cwd=LABEXTENSION,
            env=env,
            capture_output=True,
            text=True,
            timeout=800,
            check=False,
        )
        assert proc.returncode == 0, f"jlpm install failed:\n{proc.stdout}\n{proc.stderr}"
    assert AXE.exists(), f"axe-core is not in {AXE.parent.parent}: is it a devDependency?"
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def a11y_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_jupyter(
        tmp_path_factory,
        "jupyterlab",
        "/a11y/",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ) as running:
        yield running


@pytest.fixture
def new_emulator() -> Iterator[Callable[[], str]]:
    """Start emulators for one test, each with its own memory of consents and sessions:
    every sign-in then goes through the login and consent pages."""
    with contextlib.ExitStack() as stack:

        def start() -> str:
            emulator = stack.enter_context(
                start_emulator(EmulatorConfig(accounts=50, auto_approve=False))
            )
            return str(emulator.url)

        yield start


def use_theme(lab: Lab, theme: str) -> None:
    """Save the theme in the lab's user settings, as choosing it in Settings → Theme does;
    the next page load starts in it."""
    path = lab.root.parent / "lab-settings" / "@jupyterlab" / "apputils-extension"
    path.mkdir(parents=True, exist_ok=True)
    (path / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))


def open_in_theme(page: Any, lab: Lab, path: str, theme: str, axe_source: str) -> None:
    use_theme(lab, theme)
    # `reset`: a fresh workspace, so no notebook or panel of an earlier test is restored.
    page.goto(f"{lab.url}{path}?reset&token={lab.token}")
    page.wait_for_function(
        "theme => document.body.dataset.jpThemeName === theme", arg=theme, timeout=60_000
    )
    page.add_script_tag(content=axe_source)


def put_connection(lab: Lab, name: str, login_url: str) -> None:
    """A connection saved with its app settings but never authorized: state *ready*."""
    response = httpx.put(
        f"{lab.url}ak-salesforce/api/connections/{name}",
        headers={"Authorization": f"token {lab.token}"},
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "login_url": login_url,
            "scopes": "api refresh_token",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


class Audit:
    """axe-core run at each checkpoint; the problems are gathered, and reported together
    so one run shows all of them."""

    def __init__(self, page: Any, theme: str) -> None:
        self.page = page
        self.theme = theme
        self.problems: list[str] = []
        self.runs = 0

    def check(self, label: str, *targets: Any) -> None:
        """Run axe on the nodes of `targets` (locators), scrolled into view."""
        handles = []
        for target in targets:
            target.first.wait_for()
            handles.extend(target.element_handles())
        handles[0].scroll_into_view_if_needed()
        self.page.wait_for_timeout(300)  # transitions (theme, badge) settle
        result = self.page.evaluate(
            RUN_AXE, {"nodes": handles, "tags": AXE_TAGS, "disabled": PAGE_LEVEL_RULES}
        )
        self.runs += 1
        for kind in ("violations", "unmeasured"):
            for rule in result[kind]:
                for node in rule["nodes"]:
                    self.problems.append(
                        f"[{self.theme}] {label}: {kind} {rule['id']} ({rule['impact']}) "
                        f"at {node['target']}\n    {node['html']}\n    {node['summary']}"
                    )

    def assert_clean(self) -> None:
        assert self.runs > 0
        assert not self.problems, f"{len(self.problems)} accessibility problem(s):\n" + "\n".join(
            self.problems
        )


def wait_state(form: Any, state: str, timeout: float = 20_000) -> None:
    form.locator(f".aksf-state[data-state='{state}']").wait_for(timeout=timeout)


# ---- the audit itself can fail -------------------------------------------------------

CONTROL = """
() => {
  const box = document.createElement('div');
  box.id = 'aksf-control';
  box.innerHTML = '<span style="color:#999">faint text</span>'
    + '<select size="3" style="color:#bbb;background:#fff" aria-label="faint list">'
    + '<option>one</option><option>two</option><option>three</option><option>four</option>'
    + '</select><select style="color:#bbb;background:#fff url(data:image/svg+xml;base64,PHN2Zy8+)"'
    + ' aria-label="faint dropdown"><option>x</option></select>';
  document.querySelector('.jp-Launcher-content').prepend(box);
}
"""


def test_the_audit_finds_poor_contrast(page: Any, a11y_lab: Lab, axe_source: str) -> None:
    """A control: faint text, a faint list box and a faint dropdown drawn over a
    background image (which axe leaves to `RUN_AXE`'s own measure) put into JupyterLab's
    page are all caught; and without a height on <body> axe reports none of them, which
    is why `RUN_AXE` gives it one."""
    open_in_theme(page, a11y_lab, "lab", LIGHT, axe_source)
    page.locator(".jp-Launcher").wait_for()
    page.evaluate(CONTROL)
    control = page.locator("#aksf-control")
    options = {"nodes": control.element_handles(), "tags": AXE_TAGS, "disabled": []}

    measured = page.evaluate(RUN_AXE, options)
    flagged = [n["html"] for v in measured["violations"] for n in v["nodes"]]
    assert {v["id"] for v in measured["violations"]} == {"color-contrast"}, measured
    assert any("faint text" in h for h in flagged), flagged
    assert sum("<select" in h for h in flagged) == 2, measured
    assert measured["unmeasured"] == [], measured

    # JupyterLab's own body: the same faint text passes unseen.
    unseen = page.evaluate(RUN_AXE, {**options, "bodyHeight": False})
    assert unseen == {"violations": [], "unmeasured": []}, unseen


# ---- axe on every widget, light and dark ---------------------------------------------


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_widgets_and_panel_have_no_violations(
    page: Any,
    a11y_lab: Lab,
    new_emulator: Callable[[], str],
    axe_source: str,
    theme: str,
) -> None:
    # Tall enough that the side panel and the explorer show whole: axe measures contrast
    # only for text it sees, not for text scrolled half out of its box.
    page.set_viewport_size({"width": 1400, "height": 2000})
    emu, panel_emu = new_emulator(), new_emulator()
    name = "light" if theme == LIGHT else "dark"
    ready = f"{name}-ready"
    put_connection(a11y_lab, ready, panel_emu)
    a11y_lab.write_notebook(
        f"a11y-{name}.ipynb",
        [
            f'import ak_salesforce_nb as aksf\naksf.connect("{name}", login_url="{emu}")',
            f'aksf.connect("{ready}")',
            f'aksf.session("{name}")',
            f'ex = aksf.explore("{name}")\nex.select_object("Account")\n'
            'ex.set_fields(["Id", "Name"])\nex',
        ],
    )
    open_in_theme(page, a11y_lab, f"lab/tree/a11y-{name}.ipynb", theme, axe_source)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    audit = Audit(page, theme)

    # The form, not configured; then its validation error.
    form = form_in(run_cell(page, 0))
    wait_state(form, "not_configured")
    audit.check("form not configured", form)
    with page.expect_popup() as info:  # opened in the click, closed when the kernel refuses
        form.get_by_test_id("aksf-authorize-button").click()
    form.locator(".aksf-validation").wait_for()
    if not info.value.is_closed():
        info.value.wait_for_event("close")
    audit.check("form validation error", form)

    # Waiting: the popup is open at the emulator's login page.
    form.get_by_placeholder("Consumer Key of your external client app").fill(CLIENT_ID)
    form.locator("input[type=password]").fill(CLIENT_SECRET)
    with page.expect_popup() as info:
        form.get_by_test_id("aksf-authorize-button").click()
    wait_state(form, "waiting")
    audit.check("form waiting", form)

    # Error: the user denies access.
    sign_in(info.value, allow=False)
    wait_state(form, "error")
    audit.check("form error (access denied)", form)
    info.value.close()

    # Connected, then its Test result.
    with page.expect_popup() as info:
        form.get_by_test_id("aksf-authorize-button").click()
    sign_in(info.value, allow=True)
    wait_state(form, "connected")
    audit.check("form connected", form)
    form.get_by_role("button", name="Test").click()
    form.get_by_text("Test passed").wait_for(timeout=20_000)
    audit.check("form test passed", form)

    # Ready: a connection saved (here by the REST API) but not authorized.
    ready_form = form_in(run_cell(page, 1))
    wait_state(ready_form, "ready")
    audit.check("form ready", ready_form)

    # The session card and the explorer.
    card = run_cell(page, 2).locator(".aksf-card")
    card.wait_for(timeout=30_000)
    audit.check("session card", card)
    explorer = run_cell(page, 3).locator(".aksf-explorer")
    explorer.wait_for(timeout=30_000)
    explorer.locator("textarea").first.wait_for()
    audit.check("explorer", explorer)

    # The side panel: connected, ready and error connections; a sign-in waiting; the add
    # form's validation error and its saved status.
    page.locator('.lm-TabBar-tab[data-id="ak-salesforce-nb:panel"]').click()
    panel = page.get_by_test_id("aksf-panel")
    panel.get_by_test_id(f"aksf-state-{ready}").wait_for()
    audit.check("panel", panel)
    with page.expect_popup() as info:
        panel.get_by_test_id(f"aksf-authorize-{ready}").click()
    panel.get_by_test_id(f"aksf-note-{ready}").wait_for()
    page.wait_for_function(
        "name => document.querySelector(`[data-testid='aksf-state-${name}']`)"
        "?.textContent.trim() === 'waiting'",
        arg=ready,
        timeout=20_000,
    )
    audit.check("panel waiting", panel)
    info.value.close()
    # The note changes when the panel sees the window closed; the add form moves with it.
    panel.get_by_test_id(f"aksf-note-{ready}").get_by_text("closed", exact=False).wait_for()
    panel.get_by_test_id("aksf-add-name").fill("bad name!")
    panel.get_by_test_id("aksf-add-submit").click()
    panel.get_by_test_id("aksf-add-error").wait_for()
    audit.check("panel add-form error", panel)
    panel.get_by_test_id("aksf-add-name").fill(f"{name}-added")
    panel.get_by_test_id("aksf-add-client-id").fill(CLIENT_ID)
    panel.get_by_test_id("aksf-add-client-secret").fill(CLIENT_SECRET)
    panel.get_by_test_id("aksf-add-login-host").select_option("custom")
    panel.get_by_test_id("aksf-add-login-url").fill(panel_emu)
    panel.get_by_test_id("aksf-add-submit").click()
    panel.get_by_test_id("aksf-add-status").wait_for()
    audit.check("panel add-form saved", panel)
    screenshot(page, f"a11y-{name}.png")

    audit.assert_clean()


# ---- the keyboard alone --------------------------------------------------------------


def tab_to(page: Any, target: Any, *, limit: int = 80) -> None:
    """Press Tab until `target` (a locator) has the focus."""
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 200)")
    raise AssertionError(f"Tab never reached {target} in {limit} presses; focus is on {focused}")


def assert_focus_ring(target: Any) -> None:
    """A focused control shows a ring of at least 2px (WCAG 2.4.7, visible focus)."""
    ring = target.evaluate(
        "el => { const s = getComputedStyle(el);"
        " return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"
    )
    assert ring["style"] != "none" and ring["width"] >= 2, ring


def sign_in_by_keyboard(popup: Any, *, allow: bool) -> None:
    """The emulator's login and consent pages with Tab, typing, Enter and Space."""
    popup.wait_for_load_state()
    username = popup.locator("#username")
    decision = popup.locator("#oaapprove" if allow else "#oadeny")
    username.or_(decision).first.wait_for()
    if username.is_visible():
        tab_to(popup, username)
        popup.keyboard.type("ada@example.com")
        tab_to(popup, popup.locator("#password"))
        popup.keyboard.type("demo")
        popup.keyboard.press("Enter")
        decision.wait_for()
    tab_to(popup, decision)
    popup.keyboard.press("Space")


def test_form_and_panel_by_keyboard_alone(
    page: Any, a11y_lab: Lab, new_emulator: Callable[[], str], axe_source: str
) -> None:
    emu = new_emulator()
    put_connection(a11y_lab, "keys-panel", new_emulator())
    a11y_lab.write_notebook(
        "a11y-keyboard.ipynb",
        [f'import ak_salesforce_nb as aksf\naksf.connect("keys", login_url="{emu}")'],
    )
    open_in_theme(page, a11y_lab, "lab/tree/a11y-keyboard.ipynb", LIGHT, axe_source)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()

    # The form: its state is announced by a polite live region.
    form = form_in(run_cell(page, 0))
    wait_state(form, "not_configured")
    status = form.get_by_role("status")
    assert status.get_attribute("aria-live") in (None, "polite")  # role=status is polite
    assert "Client ID" in status.inner_text()

    page.keyboard.press("Escape")  # out of the cell editor, into the notebook
    tab_to(page, form.get_by_role("textbox", name="Client ID"))
    page.keyboard.type(CLIENT_ID)
    tab_to(page, form.get_by_label("Client Secret"))
    page.keyboard.type(CLIENT_SECRET)
    authorize = form.get_by_role("button", name="Authorize")
    tab_to(page, authorize)
    assert_focus_ring(authorize)
    with page.expect_popup() as info:
        page.keyboard.press("Enter")
    sign_in_by_keyboard(info.value, allow=True)
    wait_state(form, "connected")
    status.get_by_text("Connected", exact=False).wait_for()

    # The side panel, opened from the command palette; its buttons name their connection.
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("Salesforce: Open connections panel")
    page.keyboard.press("Enter")
    panel = page.get_by_test_id("aksf-panel")
    panel.get_by_test_id("aksf-state-keys-panel").wait_for()
    assert panel.get_by_role("button", name="Disconnect keys-panel", exact=True).count() == 1
    authorize = panel.get_by_role("button", name="Authorize keys-panel", exact=True)
    tab_to(page, authorize)
    assert_focus_ring(authorize)
    with page.expect_popup() as info:
        page.keyboard.press("Enter")
    sign_in_by_keyboard(info.value, allow=True)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"aksf-state-keys-panel\"]')"
        "?.textContent.trim() === 'connected'",
        timeout=20_000,
    )
    screenshot(page, "a11y-keyboard.png")
