"""Colours for the widgets' HTML that follow the notebook's theme.

The form, the session card and the side panel take their colours from JupyterLab's theme
CSS variables (``--jp-…``), which VS Code's notebooks also define from the editor's theme,
each with a fallback for a frontend that has none (Colab, nbviewer). A fixed colour is
right in one theme only: ``#444`` text is 1.9:1 on JupyterLab Dark's background.

Contrast holds by construction in any theme whose text colour contrasts with its
background: a badge is a light tint of its tone over the background with the theme's
strongest text colour on it, and a coloured sentence is its tone mixed toward the
theme's text colour (darker in a light theme, lighter in a dark one), ≥ 4.5:1 in
JupyterLab Light and Dark (checked by axe-core in tests/browser/test_accessibility.py).
A browser without ``color-mix()`` keeps the declaration before it.
"""

from __future__ import annotations

__all__ = [
    "BORDER",
    "FOCUS_STYLE",
    "TAB_STYLE",
    "TEXT",
    "TONES",
    "badge_style",
    "text_style",
]

#: Tone → (the theme's variable, the fallback where it is missing).
TONES = {
    "neutral": ("--jp-layout-color4", "#757575"),
    "brand": ("--jp-brand-color1", "#1976d2"),
    "success": ("--jp-success-color1", "#388e3c"),
    "warn": ("--jp-warn-color1", "#f57c00"),
    "error": ("--jp-error-color1", "#d32f2f"),
}

#: The theme's main text colour (a message, a card's sentence).
TEXT = "color:var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87))"
#: A frame around a form or a card.
BORDER = "1px solid var(--jp-border-color1, #bdbdbd)"
_STRONG_TEXT = "var(--jp-ui-font-color0, #000)"
_BACKGROUND = "var(--jp-layout-color1, #fff)"


def _tone(tone: str) -> str:
    variable, fallback = TONES.get(tone, TONES["neutral"])
    return f"var({variable}, {fallback})"


def badge_style(tone: str) -> str:
    """A state badge: a tint of the tone behind the theme's strongest text, and a border
    in the tone itself."""
    color = _tone(tone)
    return (
        f"border:1px solid {color};border-radius:9px;padding:0 .6em;color:{_STRONG_TEXT};"
        "background:var(--jp-layout-color2, #eee);"
        f"background:color-mix(in srgb, {color} 25%, {_BACKGROUND})"
    )


def text_style(tone: str) -> str:
    """Text in a tone (an error, a passed test), readable on the theme's background."""
    color = _tone(tone)
    return f"color:{color};color:color-mix(in srgb, {color} 60%, {_STRONG_TEXT})"


#: For a widget box with the class ``aksf-connect-form``: a focus ring that shows (the
#: widgets' own is a faint 1px line). Placed in the form as a <style> element, so it
#: holds in any frontend that renders the form.
FOCUS_STYLE = (
    "<style>"
    ".aksf-connect-form :focus-visible{"
    "outline:2px solid var(--jp-brand-color1, #1976d2) !important;outline-offset:1px}"
    "</style>"
)

#: For a widget box with the class ``aksf-explorer``: its tab titles in the theme's main
#: text colour. ipywidgets draws an unselected tab's title in ``--jp-ui-font-color2``
#: on ``--jp-layout-color2``, 4.4:1 in JupyterLab Light, under the 4.5:1 text needs.
TAB_STYLE = (
    "<style>"
    ".aksf-explorer .lm-TabBar-tab .lm-TabBar-tabLabel,"
    ".aksf-explorer .p-TabBar-tab .p-TabBar-tabLabel{"
    "color:var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87)) !important}"
    "</style>"
)
