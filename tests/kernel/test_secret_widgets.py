"""A secret typed in one frontend is not echoed to the others (ipywidgets 8 echoes every
change a frontend makes to every frontend on the kernel)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pytest

from ak_salesforce_nb.kernel._secret_widgets import SecretPassword, SecretText


def sent_while_typing(widget: Any, value: str) -> list[dict[str, Any]]:
    """The messages the kernel sends when a frontend sets `value` (as a comm update)."""
    sent: list[dict[str, Any]] = []
    widget._send = lambda msg, buffers=None: sent.append(msg)
    widget.set_state({"value": value})
    return sent


def test_a_plain_password_field_echoes_what_was_typed() -> None:
    """The control: what ipywidgets does on its own, which is why our fields exist."""
    sent = sent_while_typing(widgets.Password(), "s3cret-typed-in-one-tab")
    assert any(m.get("state", {}).get("value") == "s3cret-typed-in-one-tab" for m in sent)


@pytest.mark.parametrize("kind", [SecretPassword, SecretText])
def test_secret_fields_never_echo_the_value(kind: type[Any]) -> None:
    field = kind()
    sent = sent_while_typing(field, "s3cret-typed-in-one-tab")
    assert "s3cret-typed-in-one-tab" not in repr(sent)
    assert field.value == "s3cret-typed-in-one-tab"  # the kernel has it, nobody else


def test_the_connect_form_and_paste_panel_use_them(store_path: Any) -> None:
    import ak_salesforce_nb as aksf

    form = aksf.connect("prod", flow="paste")
    assert isinstance(form.client_secret, SecretPassword)
    panels = [v for v in vars(form).values() if hasattr(v, "address")]
    assert panels and all(isinstance(p.address, SecretText) for p in panels)
