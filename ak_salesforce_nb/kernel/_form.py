"""The connect form: `aksf.connect("prod")` in a cell.

It collects the Client ID, Client Secret, login host and scopes, shows the callback URL
to register, starts the authorization, and follows the connection's state by watching the
store. The secret is taken out of the widget as soon as it arrives in the kernel, so it
never sits in widget state that a notebook could save.

Its badge tells the truth: while the form is shown, a `ConnectionHealth` checks the
connection against Salesforce in the background (rate-limited, shared with every other
view through the store), and the badge says *connected (checked 5 s ago)*,
*reauthorization required* or *unreachable* with the reason. The Test button runs the same
check at once, in the background too; nothing here ever makes a cell wait for Salesforce.

A connection the administrator set up (a preset) shows its app fields read-only and no
secret field: the user only clicks Authorize.

Where our server extension does not answer for this kernel (VS Code, Colab, Databricks,
a terminal's IPython: see `_flow_choice`), the browser sign-in cannot come back, so the
form offers the device flow (a code typed on Salesforce's page) and the paste-back flow
(paste the address the browser lands on) instead, and says why; ``flow=`` forces one.
An empty Client Secret is a public client (PKCE only), in every flow.

Displayed, the form's output also carries a static text/plain and text/html form of the
connection (name, state, user, org; never a secret), updated as the state settles, so a
notebook read where widgets do not render (GitHub, nbviewer) shows what happened.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from typing import Any

import httpx
import ipywidgets as widgets

from ..core import _environment as environment
from ..core._check import DEFAULT_CHECK_INTERVAL, DEFAULT_CHECK_TIMEOUT, CheckResult
from ..core._connections import begin_authorization, configure_connection, revocation_request
from ..core._constants import DEFAULT_SCOPES, PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL
from ..core._device import DeviceAuthorization
from ..core._exceptions import (
    AuthorizationCancelled,
    ConfigurationError,
    SalesforceNotebookError,
)
from ..core._store import ConnectionRecord, ConnectionStore
from ..core._tls import shared_ssl_context
from ..core._urls import callback_url_under, start_path
from ..core._validation import normalize_login_url, normalize_scopes, validate_client_id
from ._cards import ShownState, checked_ago, shown_state, state_badge_style, state_text_style
from ._flow_choice import FLOWS, FlowChoice, Probe
from ._form_flows import DevicePanel, PastePanel
from ._health import ConnectionHealth
from ._secret_widgets import SecretPassword
from ._theme import BORDER, FOCUS_STYLE, TEXT, text_style
from ._watcher import StoreWatcher

__all__ = ["ConnectForm"]

_CUSTOM = "custom"
_HOSTS = [
    ("Production (login.salesforce.com)", PRODUCTION_LOGIN_URL),
    ("Sandbox (test.salesforce.com)", SANDBOX_LOGIN_URL),
    ("My Domain or other URL…", _CUSTOM),
]
_WIDE = widgets.Layout(width="34em")
_STYLE = {"description_width": "8em"}


class ConnectForm:
    """The form for one connection; displays itself, and is a normal object to script."""

    def __init__(
        self,
        name: str = "default",
        *,
        login_url: str | None = None,
        client_id: str | None = None,
        scopes: str | list[str] | None = None,
        store: ConnectionStore | None = None,
        enhanced: bool | None = None,
        watch_interval: float = 0.1,
        check_interval: float | None = DEFAULT_CHECK_INTERVAL,
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
        flow: str | None = None,
        redirect_uri: str | None = None,
    ) -> None:
        """`check_interval`: seconds between background checks against Salesforce while
        the form is shown (None: only the Test button checks); `check_timeout`: how long
        a check waits for Salesforce before it says *unreachable*; `flow`: ``"server"``,
        ``"device"`` or ``"paste"`` to force one (None: the server flow where our
        extension answers, else the other two); `redirect_uri`: the paste-back flow's
        callback address (default ``http://localhost:1717/OauthRedirect``)."""
        if flow is not None and flow not in FLOWS:
            raise ConfigurationError(
                f"flow={flow!r} is not a sign-in flow: use 'server', 'device' or 'paste'."
            )
        self.name = name
        self.forced_flow = flow
        self.redirect_uri = redirect_uri
        self._static_key: tuple[str, ...] = ()
        self._display_handle: Any = None
        self._display_lock = threading.Lock()
        self.store = store or ConnectionStore()
        self._secret: str | None = None  # held in memory only, until Authorize stores it
        self._page_callback_urls: list[str] = []
        self._check_interval = check_interval
        self._testing = False  # a Test of this form in flight
        self._test_note: tuple[bool, str] | None = None  # the last Test: passed?, what it said
        self._shown_key: tuple[str, str] = ("", "")
        record = self.store.find_connection(name)
        self.record: ConnectionRecord | None = record
        if enhanced is None:
            enhanced = environment.has_labextension()
        self.enhanced = enhanced

        self.title = widgets.HTML()
        self.client_id = widgets.Text(
            description="Client ID",
            placeholder="Consumer Key of your external client app",
            layout=_WIDE,
            style=_STYLE,
        )
        self.client_secret = SecretPassword(
            description="Client Secret",
            placeholder="Consumer Secret (kept out of the notebook)",
            continuous_update=False,
            layout=_WIDE,
            style=_STYLE,
        )
        self.login_host = widgets.Dropdown(
            description="Login host", options=_HOSTS, layout=_WIDE, style=_STYLE
        )
        self.custom_url = widgets.Text(
            description="URL",
            placeholder="https://yourdomain.my.salesforce.com",
            layout=widgets.Layout(width="34em", display="none"),
            style=_STYLE,
        )
        self.scopes = widgets.Text(
            description="Scopes", value=DEFAULT_SCOPES, layout=_WIDE, style=_STYLE
        )
        self.validation = widgets.HTML()
        self.callback = widgets.HTML()
        self.status = widgets.HTML()
        self.details = widgets.HTML()
        self.link = widgets.HTML()
        if enhanced:
            from ._bridge import AuthorizeBridge

            self.bridge: Any = AuthorizeBridge(connection_name=name, description="Authorize")
            self.bridge.on_msg(self._on_bridge_message)
            self.bridge.observe(self._on_page_callback_urls, names="page_callback_urls")
            self.authorize_button: Any = None
            authorize: Any = self.bridge
        else:
            self.bridge = None
            self.authorize_button = widgets.Button(
                description="Authorize", button_style="primary", icon="sign-in"
            )
            self.authorize_button.on_click(lambda _: self.authorize())
            authorize = self.authorize_button
        self.disconnect_button = widgets.Button(description="Disconnect", icon="unlink")
        self.disconnect_button.on_click(lambda _: self.disconnect())
        self.test_button = widgets.Button(description="Test", icon="check")
        self.test_button.on_click(lambda _: self.test_in_background())
        self.buttons = widgets.HBox([authorize, self.disconnect_button, self.test_button])
        self._authorize_control: Any = authorize

        # The sign-ins that need no server of ours.
        self.device_button = widgets.Button(description="Sign in with a code", icon="key")
        self.device_button.on_click(lambda _: self.start_device())
        self.paste_button = widgets.Button(description="Paste-back sign-in", icon="clipboard")
        self.paste_button.on_click(lambda _: self.start_paste())
        self.flow_note = widgets.HTML()
        self._alternatives_label = widgets.HTML(
            "<span style='font-size:12px'>Not in JupyterLab or Notebook 7?</span>"
        )
        self.alternatives = widgets.HBox(
            [self._alternatives_label, self.device_button, self.paste_button]
        )
        self.device = DevicePanel(self._flow_finished)
        self.paste = PastePanel(self._flow_finished)
        self._flow_message: tuple[str, str] | None = None  # (tone, text) of the last flow
        if flow is not None:
            self.choice = FlowChoice(flow, flow == "server")
            self._probe: Probe | None = None
        else:
            self._probe = Probe(self._on_probe)
            self.choice = self._probe.initial

        # The focus ring as a <style> element: it holds wherever the form renders.
        self.style = widgets.HTML(FOCUS_STYLE, layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox(
            [
                self.style,
                self.title,
                self.client_id,
                self.client_secret,
                self.login_host,
                self.custom_url,
                self.scopes,
                self.callback,
                self.flow_note,
                self.validation,
                self.buttons,
                self.alternatives,
                self.link,
                self.device.widget,
                self.paste.widget,
                self.status,
                self.details,
            ],
            layout=widgets.Layout(border=BORDER, padding="0.6em 1em", width="fit-content"),
        )
        self.widget.add_class("aksf-connect-form")
        self.client_secret.observe(self._take_secret, names="value")
        self.login_host.observe(self._on_host, names="value")

        self._prefill(record, login_url=login_url, client_id=client_id, scopes=scopes)
        self.health = ConnectionHealth(
            self.store,
            name,
            interval=check_interval or DEFAULT_CHECK_INTERVAL,
            timeout=check_timeout,
            current=lambda: self.record,
            on_tick=self._on_tick,
        )
        self._show_flow()
        self.render()
        self.watcher = StoreWatcher(self.store, self.refresh, interval=watch_interval)
        self.watcher.start()
        if check_interval:
            self.health.start()
        if self._probe is not None:
            self._probe.start()

    # -- display --------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        from IPython.display import display

        with self._display_lock:
            self._static_key = self._static_state()
            self._display_handle = display(  # type: ignore[no-untyped-call]
                self.mimebundle(), raw=True, display_id=True
            )

    def mimebundle(self) -> dict[str, Any]:
        """The widget's view, and beside it a static text/plain and text/html form of the
        connection: what a frontend without widgets (GitHub, nbviewer, a notebook whose
        widget state was not saved) shows instead of "Loading widget…"."""
        bundle: dict[str, Any] = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/plain"] = self.static_text()
        bundle["text/html"] = self.static_html()
        return bundle

    def _static_state(self) -> tuple[str, ...]:
        record = self.record
        if record is None:
            return ("not_configured",)
        return (
            record.state,
            record.username,
            record.organization_name,
            record.organization_id,
            record.instance_url,
        )

    def static_text(self) -> str:
        """One line about the connection: name, state, user and org (never a secret)."""
        record = self.record
        label = f"Salesforce connection {self.name!r}"
        if record is None:
            return f"{label}: not configured (run aksf.connect({self.name!r}) to set it up)."
        if record.state == "connected":
            org = ", ".join(x for x in (record.organization_name, record.organization_id) if x)
            return (
                f"{label}: connected as {record.username or 'unknown user'}"
                + (f" ({org})" if org else "")
                + (f" on {record.instance_url}" if record.instance_url else "")
                + "."
            )
        return f"{label}: {shown_state(record).label}. {record.message}".strip()

    def static_html(self) -> str:
        """`static_text` as a small card (escaped; styled with the theme's variables)."""
        state = self.record.state if self.record else "not_configured"
        return (
            f"<div class='aksf-static' data-state='{html.escape(state)}' "
            f"style='border:{BORDER};padding:0.4em 0.8em;max-width:44em;font-size:13px'>"
            f"{html.escape(self.static_text())}</div>"
        )

    def _update_static(self) -> None:
        """Replace the output's static form when the connection's state has settled on
        something new (not while waiting: the view is in use then)."""
        with self._display_lock:
            handle = self._display_handle
            key = self._static_state()
            if handle is None or key == self._static_key or key[0] == "waiting":
                return
            self._static_key = key
            # A display hint is never worth failing for (a closed frontend, a test).
            with contextlib.suppress(Exception):
                handle.update(self.mimebundle(), raw=True)

    def __repr__(self) -> str:
        state = self.record.state if self.record else "not_configured"
        return f"<ConnectForm {self.name!r} {state}>"

    def close(self) -> None:
        """Stop watching the store and checking the connection; close the widgets."""
        self.watcher.stop()
        self.health.stop()
        self.device.close()
        self.paste.close()
        for child in {
            *self.widget.children,
            *self.buttons.children,
            self._authorize_control,
            self.disconnect_button,
            self.test_button,
            self.device_button,
            self.paste_button,
            self._alternatives_label,
        }:
            child.close()
        self.widget.close()

    @property
    def state(self) -> str:
        return self.record.state if self.record else "not_configured"

    @property
    def flow(self) -> str:
        """The flow `authorize` runs: ``server``, ``device`` or ``paste``."""
        return self.choice.flow

    # -- input ------------------------------------------------------------------------

    def _prefill(
        self,
        record: ConnectionRecord | None,
        *,
        login_url: str | None,
        client_id: str | None,
        scopes: str | list[str] | None,
    ) -> None:
        url = login_url or (record.login_url if record else environment.default_login_url())
        if url in (PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL):
            self.login_host.value = url
        else:
            self.login_host.value = _CUSTOM
            self.custom_url.value = url
        self.client_id.value = client_id or (record.client_id if record else "")
        if scopes is not None:
            self.scopes.value = " ".join(scopes) if isinstance(scopes, list) else scopes
        elif record is not None:
            self.scopes.value = record.scopes
        else:
            self.scopes.value = environment.default_scopes()
        if record and record.has_client_secret:
            self.client_secret.placeholder = "stored (leave empty to keep it)"
        self._show_preset(record)

    def _show_preset(self, record: ConnectionRecord | None) -> None:
        """A preset's app fields are the administrator's: shown read-only, and no secret
        field at all (the user never sees, pastes or needs one)."""
        preset = bool(record and record.preset)
        for control in (self.client_id, self.login_host, self.custom_url, self.scopes):
            control.disabled = preset
        self.client_secret.layout.display = "none" if preset else ""
        if preset and record is not None:
            self.client_id.value = record.client_id
            self.scopes.value = record.scopes
            if record.login_url in (PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL):
                self.login_host.value = record.login_url
            else:
                self.login_host.value = _CUSTOM
                self.custom_url.value = record.login_url

    def _take_secret(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if value:
            self._secret = str(value).strip()
            # Out of the widget at once: widget state may be saved with the notebook.
            self.client_secret.value = ""
            self.client_secret.placeholder = "received (held in memory until Authorize)"

    def _on_host(self, change: dict[str, Any]) -> None:
        self.custom_url.layout.display = "" if change["new"] == _CUSTOM else "none"

    def _login_url(self) -> str:
        if self.login_host.value == _CUSTOM:
            # The syntax only: which hosts are allowed is `configure_connection`'s rule.
            return normalize_login_url(self.custom_url.value)
        return str(self.login_host.value)

    def validate(self) -> dict[str, Any]:
        """The settings to store; raises `ConfigurationError` with the first problem."""
        client_id = validate_client_id(self.client_id.value)
        login_url = self._login_url()
        scopes = normalize_scopes(self.scopes.value)
        # No secret given and none stored: a public client (PKCE only); an app that
        # requires its secret says so when the code is exchanged.
        return {
            "client_id": client_id,
            "client_secret": self._secret,
            "login_url": login_url,
            "scopes": scopes,
        }

    # -- actions ----------------------------------------------------------------------

    def authorize(self) -> str | None:
        """Start a sign-in with the form's flow (`flow`): for the server flow, store the
        settings and begin an authorization, returning the start URL; for the device
        flow, the verification page's URL; for the paste-back flow, the sign-in link.
        None when the input is invalid (said in the form)."""
        if self.flow == "device":
            codes = self.start_device()
            return codes.verification_uri if codes else None
        if self.flow == "paste":
            return self.start_paste()
        if self.record is not None and self.record.preset:
            return self._begin(None)
        try:
            settings = self.validate()
        except SalesforceNotebookError as exc:
            self.validation.value = _error_html(str(exc))
            if self.bridge is not None:
                self.bridge.send({"command": "close-popup"})
            return None
        self.validation.value = ""
        return self._begin(settings)

    # -- the flows that need no server of ours -------------------------------------------

    def _save_settings(self) -> bool:
        """Validate and store the form's settings (a preset's are the admin's); False,
        with the reason shown, when they cannot be."""
        self._flow_message = None
        if self.record is not None and self.record.preset:
            return True
        try:
            self.record = configure_connection(self.store, self.name, self.validate())
        except SalesforceNotebookError as exc:
            self.validation.value = _error_html(str(exc))
            return False
        self._secret = None
        if self.record.has_client_secret:
            self.client_secret.placeholder = "stored (leave empty to keep it)"
        self.validation.value = ""
        return True

    def start_device(self) -> DeviceAuthorization | None:
        """Sign in with the device flow: store the settings, get a user code from
        Salesforce, show it with the verification link and a countdown, and wait for
        approval in the background. The codes, or None (the reason shown)."""
        self.paste.cancel()
        if not self._save_settings():
            return None
        try:
            codes = self.device.start(self.store, self.name)
        except SalesforceNotebookError as exc:
            self.validation.value = _error_html(str(exc))
            self.refresh()
            return None
        self.link.value = ""
        self.refresh()
        return codes

    def start_paste(self) -> str | None:
        """Sign in with the paste-back flow: store the settings and show the sign-in
        link and the field for the address the browser lands on. The link, or None."""
        self.device.cancel()
        if not self._save_settings():
            return None
        try:
            link = self.paste.start(self.store, self.name, self.redirect_uri)
        except SalesforceNotebookError as exc:
            self.validation.value = _error_html(str(exc))
            return None
        self.link.value = ""
        self.refresh()
        return link

    def submit_paste(self, address: str) -> ConnectionRecord | None:
        """Finish the paste-back sign-in with the pasted `address` (blocking: for
        scripts; the field does it in the background). The record, or None."""
        return self.paste.submit(address)

    def cancel(self) -> None:
        """Cancel a device-flow or paste-back sign-in that is waiting."""
        self.device.cancel()
        self.paste.cancel()

    def _flow_finished(self, record: ConnectionRecord | None, error: BaseException | None) -> None:
        """A device or paste-back sign-in ended (on its thread, or the kernel's)."""
        if error is None:
            self._flow_message = None
        elif isinstance(error, AuthorizationCancelled):
            self._flow_message = ("", str(error))
        else:
            self._flow_message = ("error", str(error))
        self.refresh()

    def _on_probe(self, choice: FlowChoice) -> None:
        """The probe found that our server does not answer: offer the other flows."""
        if self.forced_flow is None:
            self.choice = choice
            self._show_flow()
            self.render()

    def _show_flow(self) -> None:
        """Show the controls of the form's flow; the sentence saying why, if any."""
        server = self.flow == "server"
        self._authorize_control.layout.display = "" if server else "none"
        self.callback.layout.display = ""
        if server:
            self.buttons.children = (
                self._authorize_control,
                self.disconnect_button,
                self.test_button,
            )
            self.device_button.button_style = ""
            self.paste_button.button_style = ""
            # A remote server seen from VS Code answers too: the way out stays visible.
            self.alternatives.layout.display = "none" if self.forced_flow else ""
            self.alternatives.children = (
                self._alternatives_label,
                self.device_button,
                self.paste_button,
            )
        else:
            first, second = (
                (self.device_button, self.paste_button)
                if self.flow == "device"
                else (self.paste_button, self.device_button)
            )
            first.button_style = "primary"
            second.button_style = ""
            shown = (first,) if self.forced_flow else (first, second)
            self.buttons.children = (*shown, self.disconnect_button, self.test_button)
            self.alternatives.children = ()
            self.alternatives.layout.display = "none"
        self.flow_note.value = (
            f"<div class='aksf-flow-reason' style='font-size:12px;max-width:40em;{TEXT}'>"
            f"{html.escape(self.choice.reason)}</div>"
            if self.choice.reason and not self.forced_flow
            else ""
        )

    def _begin(self, settings: dict[str, Any] | None) -> str | None:
        """Save `settings` (None: a preset, nothing to save) and begin a sign-in."""
        try:
            if settings is not None:
                self.record = configure_connection(self.store, self.name, settings)
                self._secret = None
                self.client_secret.placeholder = "stored (leave empty to keep it)"
            pending = begin_authorization(
                self.store,
                self.name,
                redirect_uri=self.callback_url(),
                ttl=environment.state_ttl(),
            )
        except SalesforceNotebookError as exc:
            self.validation.value = _error_html(str(exc))
            if self.bridge is not None:
                self.bridge.send({"command": "close-popup"})
            return None
        start_url = start_path(environment.base_url(), pending.state)
        if self.bridge is not None:
            self.bridge.start_url = start_url
        self.link.value = (
            f"<a href='{html.escape(start_url)}' target='_blank' rel='opener' "
            "class='aksf-authorize-link' style='font-weight:600'>"
            "Open Salesforce to sign in and allow access ↗</a>"
            + ("" if self.bridge is None else " <small>(if no window opened)</small>")
        )
        self.refresh()
        return start_url

    def disconnect(self) -> None:
        """Revoke the tokens at Salesforce (best effort) and forget them here, with any
        sign-in still waiting."""
        request = revocation_request(self.store, self.name)
        if request is not None:
            try:
                with httpx.Client(timeout=10, verify=shared_ssl_context()) as client:
                    client.send(request)
            except httpx.HTTPError:
                pass  # forgetting locally still matters
        if self.store.find_connection(self.name) is not None:
            self.store.forget_tokens(self.name)
        self.link.value = ""
        self.refresh()

    def test(self) -> str:
        """Check the connection against Salesforce now, here (blocking: for scripts; the
        Test button uses `test_in_background`); show the result and return it."""
        return self._show_test_result(self.health.check_now(force=True))

    def test_in_background(self) -> None:
        """The Test button: check against Salesforce in a thread; the badge says
        *checking…* at once and the result when it comes. The kernel stays free."""
        self._testing = True
        self._test_note = None
        self.render()
        self.health.check_in_background(force=True, on_done=self._show_test_result)

    def _show_test_result(self, result: CheckResult) -> str:
        self._testing = False
        self.refresh()  # first: the check may have changed the state (which drops notes)
        text = _test_text(result)
        self._test_note = (result.outcome == "connected", text)
        self.render()
        return text

    # -- state --------------------------------------------------------------------------

    def callback_url(self) -> str:
        """The callback URL to register in Salesforce, as well as the kernel can tell."""
        fixed = environment.callback_url()
        if fixed:
            return fixed
        if self._page_callback_urls:
            return self._page_callback_urls[0]
        public = environment.public_url()
        if public:
            return callback_url_under(public)
        if self.record and self.record.callback_url:
            return self.record.callback_url
        return ""

    def _on_page_callback_urls(self, change: dict[str, Any]) -> None:
        self._page_callback_urls = [str(u) for u in change["new"] if u]
        if self._page_callback_urls and self.flow == "server":
            # The labextension drew the form: the page is JupyterLab or Notebook 7 on our
            # server, so the server flow works and the other ways are only clutter.
            self.alternatives.layout.display = "none"
        self.render()

    def _on_bridge_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        event = content.get("event") if isinstance(content, dict) else None
        if event == "authorize-clicked":
            self.authorize()
        elif event == "oauth-result":
            self.refresh()
        elif event == "popup-closed":
            self.refresh()
            if self.state == "waiting":
                self.status.value = _status_html(
                    "waiting",
                    "The Salesforce window was closed before finishing. "
                    "Click Authorize to try again.",
                )
        elif event == "popup-blocked":
            self.status.value = _status_html(
                "waiting",
                "Your browser blocked the Salesforce window; use the link above instead.",
            )

    def refresh(self, *, keep_details: bool = False) -> None:
        """Re-read the connection from the store and show it."""
        before = self.record
        self.record = self.store.find_connection(self.name)
        if (before and before.preset) != (self.record and self.record.preset):
            self._show_preset(self.record)
        if (
            before is not None
            and self.record is not None
            and (before.has_tokens != self.record.has_tokens or before.state != self.record.state)
        ):
            self._test_note = None  # said of another state
        self.render(keep_details=keep_details)

    def _shown(self) -> ShownState:
        interval = self.health.interval if self._check_interval else None
        return shown_state(self.record, interval=interval, checking=self._testing)

    def _on_tick(self) -> None:
        """Once a second (on the kernel's loop): redraw when the badge would change (the
        check's age moves in steps of 5 s; a result past its time shows *checking…*)."""
        shown = self._shown()
        if (shown.state, shown.label) != self._shown_key:
            self.render(keep_details=True)

    def render(self, *, keep_details: bool = False) -> None:
        record = self.record
        state = record.state if record else "not_configured"
        connected = state == "connected" and record is not None
        shown = self._shown()
        if self._flow_message is not None and not connected:
            tone, text = self._flow_message
            self.status.value = _status_html("error" if tone else shown.state, text)
        else:
            self.status.value = _status_html(shown.state, shown.sentence)
        self.callback.value = self._callback_html()
        self.disconnect_button.disabled = not (record and record.has_tokens)
        self.test_button.disabled = not (record and record.has_tokens)
        label = "Re-authorize" if connected else "Authorize"
        if self.bridge is not None:
            self.bridge.description = label
            if state != "waiting":
                self.bridge.start_url = ""
        elif self.authorize_button is not None:
            self.authorize_button.description = label
        if state != "waiting":
            self.link.value = ""
        if not keep_details:
            details = _details_html(record) if connected else ""
            if self._test_note is not None:
                passed, text = self._test_note
                details += (
                    f"<div class='aksf-test-result' data-passed='{str(passed).lower()}' "
                    f"role='status' style='{text_style('success' if passed else 'error')};"
                    "max-width:40em'>"
                    f"{html.escape(text)}</div>"
                )
            self.details.value = details
        # The state badge last: whoever watches it sees the rest already in place.
        checked = (
            f" data-checked-at='{record.checked_at:.3f}'" if record and record.checked_at else ""
        )
        preset = (
            " <small class='aksf-preset'>(set up by your administrator)</small>"
            if record and record.preset
            else ""
        )
        self._shown_key = (shown.state, shown.label)
        self.title.value = (
            f"<div style='font-size:14px'><b>Salesforce connection "
            f"“{html.escape(self.name)}”</b> <span class='aksf-state' "
            f"data-state='{html.escape(shown.state)}'{checked} "
            f"style='{state_badge_style(shown.state)}'>"
            f"{html.escape(shown.label)}</span>{preset}</div>"
        )
        self._update_static()

    def _callback_html(self) -> str:
        if self.flow != "server":
            return self._app_settings_html()
        where = (
            "in your Salesforce app (Setup → External Client App Manager → your app → OAuth "
            "Settings → Callback URL)"
        )
        url = self.callback_url()
        if url and self._page_callback_urls:
            # The labextension's line under the button shows the URL with a Copy button.
            return (
                "<div style='font-size:12px;max-width:34em'>Register the callback URL shown "
                f"under the Authorize button {where}.</div>"
            )
        note = ""
        if not url and environment.server_url():
            # The server's own address; the browser may reach it by another name.
            url = callback_url_under(environment.server_url())
            note = (
                "<br>if your browser's address bar shows this host and port; otherwise the "
                "same path on the address you use (the exact URL shows here after Authorize)."
            )
        if url:
            return (
                f"<div style='font-size:12px;max-width:34em'>Callback URL to register {where}:"
                "<br><code class='aksf-callback-url' style='user-select:all'>"
                f"{html.escape(url)}</code>{note}</div>"
            )
        return (
            "<div style='font-size:12px;max-width:34em'>Callback URL to register: "
            "<code>https://YOUR-JUPYTER-HOST/…/oauth/redirect/salesforce</code> (the exact "
            "URL shows here after you click Authorize).</div>"
        )

    def _app_settings_html(self) -> str:
        """What the app needs for the flows without our server, said once."""
        from ._paste_flow import DEFAULT_PASTE_REDIRECT_URI

        redirect = self.redirect_uri or environment.paste_redirect_uri()
        redirect = redirect or DEFAULT_PASTE_REDIRECT_URI
        device = (
            "For a code sign-in, your app needs <b>Enable for Device Flow</b> (Setup → "
            "External Client App Manager → your app → OAuth Settings)."
        )
        paste = (
            "For the paste-back sign-in, its Callback URL list must hold "
            f"<code class='aksf-paste-callback' style='user-select:all'>"
            f"{html.escape(redirect)}</code> (nothing needs to run there)."
        )
        parts = {"device": [device], "paste": [paste]}.get(self.forced_flow or "", [device, paste])
        return (
            f"<div class='aksf-app-settings' style='font-size:12px;max-width:34em'>"
            f"{' '.join(parts)}</div>"
        )


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _test_text(result: CheckResult) -> str:
    """What the Test button says about `result`."""
    if result.outcome == "connected":
        who = f" as {result.record.username}" if result.record and result.record.username else ""
        if result.ran:
            took = f"{result.took_ms:.0f} ms"
            return f"Test passed in {took}: Salesforce accepts this authorization{who}."
        age = checked_ago(time.time() - result.checked_at) if result.checked_at else "just now"
        return f"Test passed: Salesforce accepted this authorization{who} (checked {age})."
    if result.outcome == "reauthorization_required":
        return f"Test failed: {result.reason}"
    if result.outcome == "unreachable":
        return f"Test failed: Salesforce could not be reached: {result.reason}"
    if result.outcome == "not_connected":
        return "Nothing to test: this connection is not authorized. Click Authorize."
    if result.outcome == "":
        return "Another check of this connection is still running; try again in a moment."
    return f"Test failed: {result.reason}"


def _details_html(record: ConnectionRecord | None) -> str:
    if record is None:
        return ""
    org = " · ".join(x for x in (record.organization_name, record.organization_id) if x)
    rows = [
        ("User", f"{record.display_name} ({record.username})".strip()),
        ("Org", org),
        ("Instance", record.instance_url),
        ("Login host", record.login_url),
        ("Authorized", _when(record.authorized_at)),
    ]
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in rows
        if v
    )
    return f"<table class='aksf-details' style='font-size:12px'>{cells}</table>"


def _status_html(state: str, message: str) -> str:
    # A polite live region, as the side panel's notes are: a screen reader reads each
    # new state without the user leaving the field they are in.
    return (
        f"<div class='aksf-status' data-state='{html.escape(state)}' role='status' "
        f"aria-live='polite' style='max-width:40em;{state_text_style(state)}'>"
        f"{html.escape(message)}</div>"
    )


def _error_html(message: str) -> str:
    # An alert: the user just clicked Authorize and must hear why nothing opened.
    return (
        f"<div class='aksf-validation' role='alert' style='{text_style('error')};"
        f"max-width:40em'>{html.escape(message)}</div>"
    )
