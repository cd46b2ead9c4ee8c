"""The connect form's device-flow and paste-back panels, for kernels without our server.

`DevicePanel` shows the user code, a link to the verification page, a live countdown and
Cancel, and waits for approval on a daemon thread (the kernel stays free for other
cells). `PastePanel` shows the sign-in link, a field for the address the browser lands
on, and Connect; the pasted address (it holds a single-use code) is taken out of the
widget as soon as it arrives, like the form's secret. Each reports its end to the form
with `on_finished(record or None, error or None)`.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..core._device import DeviceAuthorization
from ..core._exceptions import (
    AuthorizationCancelled,
    ConfigurationError,
    SalesforceNotebookError,
)
from ..core._store import ConnectionRecord, ConnectionStore
from ._device_flow import DeviceFlow
from ._paste_flow import PasteFlow
from ._secret_widgets import SecretText
from ._theme import TEXT, text_style

__all__ = ["DevicePanel", "Finished", "PastePanel", "countdown_text"]

log = logging.getLogger(__name__)
Finished = Callable[[ConnectionRecord | None, BaseException | None], None]
_WIDE = widgets.Layout(width="34em")


def countdown_text(seconds: float) -> str:
    """``9:05`` for a countdown."""
    whole = max(0, int(seconds + 0.999))
    return f"{whole // 60}:{whole % 60:02d}"


def _note(text: str, tone: str = "") -> str:
    style = text_style(tone) if tone else TEXT
    return (
        f"<div class='aksf-flow-note' role='status' aria-live='polite' "
        f"style='max-width:40em;{style}'>{html.escape(text)}</div>"
    )


def _hidden(box: Any, hidden: bool) -> None:
    box.layout.display = "none" if hidden else ""


class DevicePanel:
    """The device flow's part of the form."""

    def __init__(self, on_finished: Finished) -> None:
        self._on_finished = on_finished
        self.flow: DeviceFlow | None = None
        self.thread: threading.Thread | None = None
        self.code = widgets.HTML()
        self.countdown = widgets.HTML()
        self.cancel_button = widgets.Button(description="Cancel", icon="times")
        self.cancel_button.on_click(lambda _: self.cancel())
        self.widget = widgets.VBox([self.code, self.countdown, self.cancel_button])
        self.widget.add_class("aksf-device-panel")
        _hidden(self.widget, True)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, store: ConnectionStore, name: str) -> DeviceAuthorization:
        """Ask Salesforce for the codes (raises as `DeviceFlow.start` does), show them,
        and wait for approval on a thread."""
        self.cancel()
        flow = DeviceFlow(store, name)
        codes = flow.start()
        self.flow = flow
        link = codes.verification_uri_complete or codes.verification_uri
        self.code.value = (
            "<div style='max-width:40em'>Open "
            f"<a href='{html.escape(link)}' target='_blank' rel='noopener noreferrer' "
            "class='aksf-verification-link' style='font-weight:600'>"
            f"{html.escape(codes.verification_uri)} ↗</a>, sign in to Salesforce and enter "
            "this code:<div class='aksf-user-code' style='font:600 20px monospace;"
            f"letter-spacing:.15em;margin:.3em 0;user-select:all'>{html.escape(codes.user_code)}"
            "</div></div>"
        )
        self._tick(codes.seconds_left())
        self.cancel_button.layout.display = ""
        _hidden(self.code, False)
        _hidden(self.widget, False)
        self.thread = threading.Thread(
            target=self._run, args=(flow,), name="ak-salesforce-device", daemon=True
        )
        self.thread.start()
        return codes

    def _tick(self, seconds: float) -> None:
        self.countdown.value = (
            f"<div class='aksf-countdown' style='font-size:12px;{TEXT}'>Waiting for approval; "
            f"the code is valid for another {countdown_text(seconds)}.</div>"
        )

    def _run(self, flow: DeviceFlow) -> None:
        record: ConnectionRecord | None = None
        error: BaseException | None = None
        try:
            record = flow.wait(on_tick=self._tick)
        except SalesforceNotebookError as exc:
            error = exc
        except Exception as exc:  # a bug must still end the panel's wait visibly
            log.exception("The device flow of %r failed", flow.name)
            error = exc
        if flow is not self.flow:
            return  # replaced by a newer sign-in
        self.cancel_button.layout.display = "none"
        if record is not None:
            _hidden(self.widget, True)
        else:
            _hidden(self.code, True)
            tone = "" if isinstance(error, AuthorizationCancelled) else "error"
            self.countdown.value = _note(str(error), tone)
        self._on_finished(record, error)

    def cancel(self) -> None:
        """Stop waiting (the thread ends within a second); nothing is recorded."""
        if self.flow is not None:
            self.flow.cancel()

    def close(self) -> None:
        self.cancel()
        for child in (self.code, self.countdown, self.cancel_button, self.widget):
            child.close()


class PastePanel:
    """The paste-back flow's part of the form."""

    def __init__(self, on_finished: Finished) -> None:
        self._on_finished = on_finished
        self.flow: PasteFlow | None = None
        self.link = widgets.HTML()
        self.address = SecretText(
            description="Address",
            placeholder="http://localhost:1717/OauthRedirect?code=…",
            continuous_update=False,
            layout=_WIDE,
            style={"description_width": "8em"},
        )
        self.connect_button = widgets.Button(
            description="Connect", button_style="primary", icon="check"
        )
        self.cancel_button = widgets.Button(description="Cancel", icon="times")
        self.note = widgets.HTML()
        self.actions = widgets.HBox([self.connect_button, self.cancel_button])
        self.widget = widgets.VBox([self.link, self.address, self.actions, self.note])
        self.widget.add_class("aksf-paste-panel")
        self._pasted: str | None = None
        self.address.observe(self._take, names="value")
        self.connect_button.on_click(lambda _: self._submit_in_background())
        self.cancel_button.on_click(lambda _: self.cancel())
        _hidden(self.widget, True)

    def start(self, store: ConnectionStore, name: str, redirect_uri: str | None = None) -> str:
        """A new sign-in link (raises `ConfigurationError` for a bad callback address)."""
        flow = PasteFlow(store, name, redirect_uri=redirect_uri)
        link = flow.begin()
        self.flow = flow
        self.link.value = (
            "<div style='max-width:40em'>1. <a href='"
            f"{html.escape(link)}' target='_blank' rel='noopener noreferrer' "
            "class='aksf-paste-link' style='font-weight:600'>Open Salesforce to sign in and "
            "allow access ↗</a><br>2. The browser then goes to <code>"
            f"{html.escape(flow.redirect_uri)}?code=…</code>; that page may not load, which "
            "is expected. Copy the whole address from the address bar and paste it "
            "here:</div>"
        )
        self.note.value = ""
        _hidden(self.widget, False)
        return link

    def _take(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if value:
            # Out of the widget at once: it holds a (single-use) authorization code.
            self._pasted = str(value)
            self.address.value = ""
            self._submit_in_background()

    def _submit_in_background(self) -> None:
        text, self._pasted = self._pasted, None
        if not text:
            self.note.value = _note("Paste the address first, then click Connect.", "error")
            return
        self.note.value = _note("Connecting…")
        threading.Thread(
            target=self.submit, args=(text,), name="ak-salesforce-paste", daemon=True
        ).start()

    def submit(self, text: str) -> ConnectionRecord | None:
        """Complete the sign-in with the pasted address; the record, or None with the
        reason shown (an unreadable paste leaves the link working: paste again)."""
        flow = self.flow
        if flow is None:
            self.note.value = _note("Start the paste-back sign-in first.", "error")
            return None
        try:
            record = flow.complete(text)
        except ConfigurationError as exc:
            self.note.value = _note(str(exc), "error")
            return None
        except SalesforceNotebookError as exc:
            self.flow = None
            _hidden(self.widget, True)
            self._on_finished(None, exc)
            return None
        self.flow = None
        _hidden(self.widget, True)
        self._on_finished(record, None)
        return record

    def cancel(self) -> None:
        if self.flow is None:
            return
        self.flow = None
        _hidden(self.widget, True)
        self._on_finished(
            None,
            AuthorizationCancelled(
                "Sign-in cancelled. Start again when you are ready.",
                error="cancelled",
            ),
        )

    def close(self) -> None:
        for child in (
            self.link,
            self.address,
            self.connect_button,
            self.cancel_button,
            self.actions,
            self.note,
            self.widget,
        ):
            child.close()
