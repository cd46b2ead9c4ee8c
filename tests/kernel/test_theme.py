"""The widgets' HTML takes its colours from the theme: no fixed colour outside a
`var(--jp-…, fallback)`, a tone for every state, live regions for state changes.

The contrast itself is measured in a real browser, light and dark, by axe-core
(tests/browser/test_accessibility.py); this checks the HTML the kernel writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ak_salesforce_nb.core._connections import configure_connection
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.kernel import _cards, _form, _theme
from ak_salesforce_nb.kernel._form import ConnectForm

# `var(--jp-name, fallback)`, the fallback possibly a function such as rgba(…).
_THEME_VARIABLE = re.compile(r"var\(--jp-[a-z0-9-]+, [^()]*(?:\([^()]*\))?[^()]*\)")
_FIXED_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")


def fixed_colours(html: str) -> list[str]:
    """The colours in `html` that no theme variable governs."""
    return _FIXED_COLOUR.findall(_THEME_VARIABLE.sub("", html))


def test_the_checker_sees_a_fixed_colour() -> None:
    assert fixed_colours("<div style='color:#444'>x</div>") == ["#444"]
    assert fixed_colours("<span style='background:rgb(1, 2, 3)'>") == ["rgb("]
    assert fixed_colours("<div style='color:var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87))'>") == []


@pytest.mark.parametrize("state", sorted(_cards.STATE_LABELS))
def test_every_state_has_a_theme_tone(state: str) -> None:
    tone = _cards.STATE_LABELS[state][1]
    assert tone in _theme.TONES
    for style in (_cards.state_badge_style(state), _cards.state_text_style(state)):
        assert "var(--jp-" in style
        assert fixed_colours(style) == [], style


def test_tones_mix_toward_the_themes_text_colour() -> None:
    # The badge: a tint behind the strongest text; the sentence: the tone mixed toward
    # the text colour, after a plain declaration for browsers without color-mix().
    badge = _theme.badge_style("warn")
    assert "color:var(--jp-ui-font-color0, #000)" in badge
    assert "color-mix(in srgb, var(--jp-warn-color1, #f57c00) 25%" in badge
    text = _theme.text_style("error")
    first, second = text.split(";")
    assert first == "color:var(--jp-error-color1, #d32f2f)"
    assert second.startswith("color:color-mix(in srgb, var(--jp-error-color1, #d32f2f) 60%")
    assert _theme.badge_style("no such tone") == _theme.badge_style("neutral")


def test_status_is_a_polite_live_region_and_errors_are_alerts() -> None:
    status = _form._status_html("waiting", "Waiting for you to sign in")
    assert "role='status'" in status and "aria-live='polite'" in status
    error = _form._error_html("Client ID is required")
    assert "role='alert'" in error
    assert fixed_colours(status + error) == []


def test_form_and_card_html_have_no_fixed_colour(store_path: Path) -> None:
    form = ConnectForm("themed", enhanced=False, store=ConnectionStore(store_path))
    try:
        parts = [child.value for child in form.widget.children if hasattr(child, "value")]
        html = "".join(str(p) for p in parts)
        assert "aksf-state" in html and "aksf-status" in html
        assert fixed_colours(html) == [], html
        assert _theme.FOCUS_STYLE in html  # the focus ring travels with the form
        assert fixed_colours(str(form.widget.layout.border)) == []
    finally:
        form.close()

    record = configure_connection(
        ConnectionStore(store_path),
        "themed",
        {
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
            "login_url": "https://login.salesforce.com",
            "scopes": "api refresh_token",
        },
    )
    card = _cards.connection_card(record, kind="Session")
    assert "aksf-card" in card
    assert fixed_colours(card) == [], card
