"""``/setup/connect``: where the user of the device flow types the code and approves.

The page also takes the code as ``?user_code=``. The user logs in with the same browser
session as the code flow's pages (a session started here is one there, and the other way
round). With ``auto_approve`` a code is approved, as the session's user or the default
user, as soon as the page is opened with it.
"""

from __future__ import annotations

from . import _device_pages as pages
from ._web_oauth import SESSION_COOKIE, _PageHandler

__all__ = ["DeviceVerificationHandler"]


class DeviceVerificationHandler(_PageHandler):
    """One handler, four steps: code → (login) → consent → done."""

    def get(self) -> None:
        user_code = self.arg("user_code")
        if not user_code:
            self.finish(pages.device_code_page())
            return
        self._with_code(user_code)

    def post(self) -> None:
        step = self.arg("step") or "code"
        user_code = self.arg("user_code") or ""
        if step == "login":
            self._login(user_code)
        elif step == "consent":
            self._consent(user_code)
        else:
            self._with_code(user_code)

    def _with_code(self, user_code: str) -> None:
        state = self.state
        device = state.devices.pending(user_code)
        if device is None:
            self.set_status(400)
            self.finish(pages.device_code_page(user_code, pages.INVALID_CODE))
            return
        username = self.session_user()
        if state.config.auto_approve:
            approver = username or state.config.default_username
            state.devices.decide(device.user_code, approver)
            self.finish(pages.device_done_page(approved=True))
            return
        if username is None:
            self.finish(pages.device_login_page(device.user_code))
            return
        self._ask_or_approve(device.user_code, username)

    def _login(self, user_code: str) -> None:
        oauth = self.state.oauth
        device = self.state.devices.pending(user_code)
        if device is None:
            self.set_status(400)
            self.finish(pages.device_code_page(user_code, pages.INVALID_CODE))
            return
        username = self.arg("username") or ""
        password = self.get_argument("password", "", strip=False)
        known = oauth.check_password(username, password) if username else None
        if known is None:
            self.finish(pages.device_login_page(device.user_code, username, failed=True))
            return
        session_id = oauth.start_session(known)
        self.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, samesite="Lax")
        self._ask_or_approve(device.user_code, known)

    def _ask_or_approve(self, user_code: str, username: str) -> None:
        # The device flow always asks: the user must confirm this device is theirs.
        device = self.state.devices.pending(user_code)
        assert device is not None
        self.finish(
            pages.device_consent_page(
                device.user_code, self.state.config.app_name, username, device.scope
            )
        )

    def _consent(self, user_code: str) -> None:
        oauth = self.state.oauth
        username = self.session_user()
        if self.state.devices.pending(user_code) is None:
            self.set_status(400)
            self.finish(pages.device_code_page(user_code, pages.INVALID_CODE))
            return
        if username is None:
            self.finish(pages.device_login_page(user_code))
            return
        decision = (self.arg("decision") or "").lower()
        if decision not in ("allow", "deny"):
            self.show_error("invalid_request", "missing decision: Allow or Deny")
            return
        approved = decision == "allow"
        if approved:
            oauth.remember_consent(username, self._client_of(user_code))
        self.state.devices.decide(user_code, username if approved else None)
        self.finish(pages.device_done_page(approved))

    def _client_of(self, user_code: str) -> str:
        device = self.state.devices.pending(user_code)
        return device.client_id if device is not None else self.state.config.client_id
