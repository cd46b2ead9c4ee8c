"""SOQL in a real JupyterLab (and Notebook 7) with our labextension: a typed ``%%soql``
cell is highlighted with the theme's colors, Tab completes the emulator's field names
(the kernel's completion), a failing query underlines the word Salesforce pointed at
(message on hover; gone on edit and after a good run), and a ``.soql`` file opens
highlighted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from tests.browser.conftest import Lab, screenshot
from tests.browser.test_notebook_journey import run_cell, wait_for_idle_kernel
from tests.explore.conftest import authorize_store

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

SETUP = 'import ak_salesforce_nb as aksf\n%load_ext ak_salesforce_nb\nsf = aksf.session("prod")'

# The computed color of every element drawing `selector`'s text (the innermost spans
# win, so Python's own highlighting underneath must not show through), and the color
# the theme variable resolves to.
COLORS_JS = """(root, [selector, variable]) => {
  const probe = document.createElement('span');
  probe.style.color = `var(${variable})`;
  root.appendChild(probe);
  const want = getComputedStyle(probe).color;
  probe.remove();
  const plain = getComputedStyle(root).color;
  const seen = [];
  for (const el of root.querySelectorAll(selector)) {
    const inner = [el, ...el.querySelectorAll('*')];
    for (const each of inner) seen.push(getComputedStyle(each).color);
  }
  return { want, plain, seen };
}"""


def editor_of(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")


def texts(editor: Any, css_class: str) -> list[str]:
    return [t.strip() for t in editor.locator(f".{css_class}").all_inner_texts()]


def assert_colored(editor: Any, css_class: str, variable: str) -> None:
    colors = editor.evaluate(COLORS_JS, [f".{css_class}", variable])
    assert colors["seen"], f"no .{css_class} in the editor"
    assert colors["want"] != colors["plain"], f"{variable} is not set by the theme"
    assert set(colors["seen"]) == {colors["want"]}, (css_class, colors)


@pytest.fixture(scope="module")
def connected_lab(lab: Lab, browser_emulator: RunningEmulator) -> Lab:
    """The lab's store holds a connected "prod" (the kernels read it)."""
    authorize_store(browser_emulator, lab.store_path)
    return lab


def test_soql_cell_highlighting_completion_and_error_mark(page: Any, connected_lab: Lab) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    lab = connected_lab
    lab.write_notebook("soql.ipynb", [SETUP, "", ""])
    page.goto(lab.page_url("lab/tree/soql.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    first = run_cell(page, 0)
    wait_for_idle_kernel(page)
    assert (
        first.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).count()
        == 0
    )

    # 1. Typed into an empty cell, the query is highlighted as SOQL, in theme colors.
    editor = editor_of(page, 1)
    editor.click()
    page.keyboard.type("%%soql -o banks\n")
    page.keyboard.type("SELECT Id, Name FROM Account\nWHERE Industry = 'Banking' AND Billing")
    page.locator(".aksf-soql-keyword").first.wait_for()
    assert texts(editor, "aksf-soql-keyword") == ["SELECT", "FROM", "WHERE", "AND"]
    assert texts(editor, "aksf-soql-string") == ["'Banking'"]
    assert texts(editor, "aksf-soql-magic") == ["%%soql"]
    assert_colored(editor, "aksf-soql-keyword", "--jp-mirror-editor-keyword-color")
    assert_colored(editor, "aksf-soql-string", "--jp-mirror-editor-string-color")
    # A Python cell gets none of it.
    assert editor_of(page, 0).locator("[class*='aksf-soql']").count() == 0

    # 2. Tab completes the field names of the FROM object, from the emulator's describe.
    page.keyboard.press("Tab")
    completer = page.locator(".jp-Completer")
    completer.wait_for(timeout=30_000)
    items = completer.locator(".jp-Completer-item")
    items.first.wait_for()
    values = [items.nth(i).get_attribute("data-value") for i in range(items.count())]
    # Several fields start with Billing, so the list shows (one match would be inserted).
    assert {"BillingCity", "BillingCountry", "BillingState"} <= set(values), values
    screenshot(page, "soql-completion.png")
    completer.locator(".jp-Completer-item[data-value='BillingCountry']").click()
    page.keyboard.type(" != null LIMIT 5")
    assert "AND BillingCountry != null LIMIT 5" in editor.inner_text()
    assert texts(editor, "aksf-soql-number") == ["5"]
    assert texts(editor, "aksf-soql-atom") == ["null"]
    assert "LIMIT" in texts(editor, "aksf-soql-keyword")
    table = run_cell(page, 1).locator("table.dataframe")
    table.wait_for(timeout=60_000)
    assert editor.locator(".aksf-soql-error").count() == 0

    # 3. A field that does not exist: Salesforce's Row/Column, underlined in the cell.
    wait_for_idle_kernel(page)
    editor = editor_of(page, 2)
    editor.click()
    page.keyboard.type("%%soql\nSELECT Id,\n       Nme\nFROM Account")
    cell = run_cell(page, 2)
    cell.locator(".jp-OutputArea-output").get_by_text("No such column", exact=False).wait_for(
        timeout=60_000
    )
    mark = editor.locator(".aksf-soql-error")
    mark.wait_for(timeout=10_000)
    assert mark.inner_text() == "Nme"
    screenshot(page, "soql-error-mark.png")
    mark.hover()
    tooltip = page.locator(".aksf-soql-error-tooltip")
    tooltip.wait_for(timeout=10_000)
    assert "No such column 'Nme' on entity 'Account'" in tooltip.inner_text()

    # Saved with its error, the notebook shows the mark again when opened.
    saved = lab.root / "soql.ipynb"
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    for _ in range(100):
        if "No such column" in saved.read_text():
            break
        page.wait_for_timeout(100)
    assert "No such column" in saved.read_text()
    page.reload()
    editor = editor_of(page, 2)
    mark = editor.locator(".aksf-soql-error")
    mark.wait_for(timeout=60_000)
    assert mark.inner_text() == "Nme"

    # 4. Editing the cell clears the mark; a good run leaves none.
    mark.click()
    page.keyboard.press("End")
    page.keyboard.type("x")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell')[2].querySelectorAll('.aksf-soql-error')"
        ".length === 0",
        timeout=10_000,
    )
    run_cell(page, 2)
    mark.wait_for(timeout=60_000)  # `Nmex` is no column either: marked again
    assert mark.inner_text() == "Nmex"
    page.keyboard.press("Escape")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("%%soql\nSELECT Id, Name FROM Account LIMIT 2")
    ran = run_cell(page, 2)
    ran.locator("table.dataframe").wait_for(timeout=60_000)
    assert editor.locator(".aksf-soql-error").count() == 0

    # 5. The dark theme recolors the query with its own colors.
    light = editor_of(page, 1).evaluate(COLORS_JS, [".aksf-soql-keyword", "--x"])["seen"][0]
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)  # the theme's stylesheet applies
    assert_colored(editor_of(page, 1), "aksf-soql-keyword", "--jp-mirror-editor-keyword-color")
    dark = editor_of(page, 1).evaluate(COLORS_JS, [".aksf-soql-keyword", "--x"])["seen"][0]
    assert dark != light
    screenshot(page, "soql-dark-theme.png")
    assert errors == [], "\n".join(errors)


def test_soql_file_opens_highlighted(page: Any, connected_lab: Lab) -> None:
    lab = connected_lab
    (lab.root / "accounts.soql").write_text(
        "SELECT Name, COUNT(Id)\nFROM Account\nWHERE CreatedDate = LAST_N_DAYS:30\nGROUP BY Name\n"
    )
    page.goto(lab.page_url("lab/tree/accounts.soql"))
    editor = page.locator(".jp-FileEditor .cm-content")
    editor.wait_for(timeout=60_000)
    editor.get_by_text("SELECT").wait_for()
    colors = editor.evaluate(
        """(root) => {
          const probe = document.createElement('span');
          const color = v => {
            probe.style.color = `var(${v})`;
            return getComputedStyle(probe).color;
          };
          root.appendChild(probe);
          const want = { keyword: color('--jp-mirror-editor-keyword-color'),
                         atom: color('--jp-mirror-editor-atom-color') };
          probe.remove();
          const of = text => [...root.querySelectorAll('span')]
            .filter(s => s.textContent === text).map(s => getComputedStyle(s).color);
          return { want, select: of('SELECT'), group: of('GROUP'), days: of('LAST_N_DAYS:30'),
                   plain: getComputedStyle(root).color };
        }"""
    )
    assert colors["want"]["keyword"] != colors["plain"]
    assert colors["select"] == [colors["want"]["keyword"]], colors
    assert colors["group"] == [colors["want"]["keyword"]], colors
    assert colors["days"] == [colors["want"]["atom"]], colors
    # The status bar names the editor's language.
    assert page.locator(".jp-StatusBar-TextItem").get_by_text(re.compile(r"^soql$", re.I)).count()


def test_soql_cell_highlighted_in_notebook_7(page: Any, notebook7: Lab) -> None:
    notebook7.write_notebook(
        "soql7.ipynb", ["%%soql\nSELECT Id FROM Contact WHERE Email != null", "6 * 7"]
    )
    page.goto(notebook7.page_url("notebooks/soql7.ipynb"))
    editor = editor_of(page, 0)
    editor.locator(".aksf-soql-keyword").first.wait_for(timeout=60_000)
    assert texts(editor, "aksf-soql-keyword") == ["SELECT", "FROM", "WHERE"]
    assert texts(editor, "aksf-soql-atom") == ["null"]
    assert_colored(editor, "aksf-soql-keyword", "--jp-mirror-editor-keyword-color")
    # The page's kernel is up before the server stops (a server stopped while the
    # kernel still starts takes longer than the fixture waits).
    cell = run_cell(page, 1, status_bar=False)
    cell.locator(".jp-OutputArea-output").get_by_text("42").wait_for(timeout=60_000)
