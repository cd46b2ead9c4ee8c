"""The callback page is a template file that ships with the package, rendered with
autoescaping (the attacks on its content are in tests/trust/test_callback_attacks.py)."""

from __future__ import annotations

import importlib.resources

from hatchling.builders.wheel import WheelBuilder

from ak_salesforce_nb.server._authorization import CallbackOutcome
from ak_salesforce_nb.server._callback_page import TEMPLATE, render_callback_page
from tests.trust.helpers import REPO, assert_inert_page

TEMPLATE_IN_WHEEL = f"ak_salesforce_nb/server/templates/{TEMPLATE}"


def test_the_template_is_package_data() -> None:
    """Found through importlib.resources (how the renderer loads it), and in the file
    list of the wheel hatchling would build from this checkout."""
    template = importlib.resources.files("ak_salesforce_nb.server") / "templates" / TEMPLATE
    assert template.is_file()
    assert "{{ message }}" in template.read_text(encoding="utf-8")
    wheel_files = {f.distribution_path for f in WheelBuilder(str(REPO)).recurse_included_files()}
    assert TEMPLATE_IN_WHEEL in wheel_files


def test_the_page_comes_from_the_template() -> None:
    """Every value is escaped text, the script carries the outcome as a JSON literal,
    and each rendering has its own nonce."""
    outcome = CallbackOutcome(False, 400, "A & B", 'Say "<hi>"', "prod")
    first, nonce = render_callback_page(outcome)
    second, other_nonce = render_callback_page(outcome)
    assert nonce != other_nonce and first.replace(nonce, "") == second.replace(other_nonce, "")
    page = assert_inert_page(first, f"default-src 'none'; script-src 'nonce-{nonce}'")
    assert page.text_by_id["message"] == 'Say "<hi>"'
    assert page.title == "A & B · Salesforce for Jupyter"
    assert '<main data-outcome="error">' in first
    assert '"message": "Say \\"\\u003chi\\u003e\\""' in first
