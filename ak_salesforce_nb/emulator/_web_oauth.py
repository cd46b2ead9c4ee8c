"""OAuth 2.0 endpoints under ``/services/oauth2/`` plus the identity URL and login pages."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from . import _pages
from ._grants import JWT_BEARER, client_credentials_grant, jwt_bearer_grant
from ._oauth import AccessToken, OAuthError, PendingAuthorization, TokenGrant, token_signature
from ._state import EmulatorState
from ._web_base import BaseHandler, bearer_token

__all__ = [
    "AuthorizeHandler",
    "ConsentHandler",
    "IdentityHandler",
    "IntrospectHandler",
    "JwksHandler",
    "LandingHandler",
    "LoginHandler",
    "LogoutHandler",
    "RevokeHandler",
    "TokenHandler",
    "UserInfoHandler",
    "WellKnownHandler",
]

SESSION_COOKIE = "emu_sid"
DEFAULT_SCOPES = ["api", "refresh_token"]
#: The grant types the token endpoint knows, and the counter each one moves.
GRANT_STATS = {
    "authorization_code": "code_grants",
    "refresh_token": "refresh_grants",
    "device": "device_grants",
    "client_credentials": "client_credentials_grants",
    JWT_BEARER: "jwt_bearer_grants",
}
#: Grants whose answer carries an ``id_token`` when ``openid`` is in the scope.
OIDC_GRANTS = frozenset({"authorization_code", "refresh_token", "device"})


def redirect_with(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (None values left out)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class _PageHandler(BaseHandler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
        self.set_header("X-Frame-Options", "DENY")

    def arg(self, name: str) -> str | None:
        value = self.get_argument(name, None)
        return value if value is None else value.strip()

    def show_error(self, error: str, description: str, status: int = 400) -> None:
        self.set_status(status)
        self.finish(_pages.error_page(error, description))

    def session_user(self) -> str | None:
        return self.state.oauth.session_user(self.get_cookie(SESSION_COOKIE))

    def finish_authorization(self, pending: PendingAuthorization, username: str) -> None:
        oauth = self.state.oauth
        code = oauth.issue_code(
            username,
            pending.client_id,
            pending.redirect_uri,
            pending.code_challenge,
            pending.scope,
            nonce=pending.nonce,
        )
        oauth.drop_pending(pending.id)
        self.redirect(redirect_with(pending.redirect_uri, {"code": code, "state": pending.state}))

    def redirect_error(self, pending: PendingAuthorization, error: str, description: str) -> None:
        self.state.oauth.drop_pending(pending.id)
        self.redirect(
            redirect_with(
                pending.redirect_uri,
                {"error": error, "error_description": description, "state": pending.state},
            )
        )

    def after_login(self, pending: PendingAuthorization, username: str) -> None:
        """Consent page when needed (first time, or ``prompt=consent``), else the code."""
        oauth = self.state.oauth
        if pending.force_consent or not oauth.has_consent(username, pending.client_id):
            self.finish(
                _pages.consent_page(pending.id, self.state.config.app_name, username, pending.scope)
            )
            return
        self.finish_authorization(pending, username)


class AuthorizeHandler(_PageHandler):
    """``/services/oauth2/authorize``: validate, then login / consent / redirect."""

    def get(self) -> None:
        config = self.state.config
        oauth = self.state.oauth
        client_id = self.arg("client_id")
        redirect_uri = self.arg("redirect_uri")
        if not client_id or not oauth.client_known(client_id):
            self.show_error("invalid_client_id", "client identifier invalid")
            return
        if not redirect_uri or not oauth.redirect_allowed(redirect_uri):
            self.show_error("redirect_uri_mismatch", "redirect_uri must match configuration")
            return
        scope = (self.arg("scope") or "").split() or list(DEFAULT_SCOPES)
        prompts = set((self.arg("prompt") or "").split())
        pending = PendingAuthorization(
            id=secrets.token_urlsafe(18),
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=self.get_argument("state", None, strip=False),
            scope=scope,
            code_challenge=self.arg("code_challenge") or None,
            login_hint=self.arg("login_hint"),
            force_consent="consent" in prompts,
            created=time.time(),
            nonce=self.get_argument("nonce", None, strip=False),
        )
        oauth.add_pending(pending)
        if self.arg("response_type") != "code":
            self.redirect_error(pending, "unsupported_response_type", "response type not supported")
            return
        method = self.arg("code_challenge_method")
        if method and method != "S256":
            self.redirect_error(pending, "invalid_request", "unsupported code challenge method")
            return
        if pending.code_challenge is None and config.require_pkce:
            self.redirect_error(pending, "invalid_request", "missing required code challenge")
            return
        if config.auto_approve:
            hinted = oauth.canonical_username(pending.login_hint or "")
            self.finish_authorization(pending, hinted or config.default_username)
            return
        username = self.session_user()
        if username is None or "login" in prompts:
            if "none" in prompts:
                self.redirect_error(pending, "login_required", "user is not logged in")
                return
            self.finish(_pages.login_page(pending.id, pending.login_hint or ""))
            return
        if "none" in prompts and (
            pending.force_consent or not oauth.has_consent(username, client_id)
        ):
            self.redirect_error(pending, "consent_required", "user has not approved the app")
            return
        self.after_login(pending, username)

    def post(self) -> None:
        self.get()


class LoginHandler(_PageHandler):
    """The login form's target: check the password, start a browser session."""

    def get(self) -> None:
        self.redirect("/")

    def post(self) -> None:
        pending = self.state.oauth.get_pending(self.arg("pending"))
        if pending is None:
            self.show_error("invalid_request", "the authorization request is missing or expired")
            return
        username = self.arg("username") or ""
        password = self.get_argument("password", "", strip=False)
        known = self.state.oauth.check_password(username, password) if username else None
        if known is None:
            self.finish(_pages.login_page(pending.id, username, _pages.LOGIN_ERROR))
            return
        session_id = self.state.oauth.start_session(known)
        self.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, samesite="Lax")
        self.after_login(pending, known)


class ConsentHandler(_PageHandler):
    """The consent form's target: Allow issues a code, Deny redirects with access_denied."""

    def post(self) -> None:
        oauth = self.state.oauth
        pending = oauth.get_pending(self.arg("pending"))
        if pending is None:
            self.show_error("invalid_request", "the authorization request is missing or expired")
            return
        username = self.session_user()
        if username is None:
            self.finish(_pages.login_page(pending.id, pending.login_hint or ""))
            return
        decision = (self.arg("decision") or "").lower()
        if decision not in ("allow", "deny"):
            if self.get_argument("oaapprove", None) is not None:
                decision = "allow"
            elif self.get_argument("oadeny", None) is not None:
                decision = "deny"
        if decision == "deny":
            self.redirect_error(pending, "access_denied", "end-user denied authorization")
            return
        if decision != "allow":
            self.show_error("invalid_request", "missing decision: Allow or Deny")
            return
        oauth.remember_consent(username, pending.client_id)
        self.finish_authorization(pending, username)


class LogoutHandler(_PageHandler):
    def get(self) -> None:
        self.state.oauth.end_session(self.get_cookie(SESSION_COOKIE))
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.finish(_pages.landing_page(self.state.base_url))


class LandingHandler(_PageHandler):
    def get(self) -> None:
        self.finish(_pages.landing_page(self.state.base_url))


class _JsonOAuthHandler(BaseHandler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json;charset=UTF-8")
        self.set_header("Cache-Control", "no-cache,no-store")
        self.set_header("Pragma", "no-cache")

    def oauth_error(self, error: OAuthError) -> None:
        self.set_status(error.status)
        self.finish(json.dumps({"error": error.error, "error_description": error.description}))

    def client_credentials(self) -> tuple[str | None, str | None]:
        """Client id and secret from HTTP Basic auth or from the form (RFC 6749 2.3.1)."""
        header = self.request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic" and encoded:
            try:
                decoded = base64.b64decode(encoded.strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None, None
            client_id, _, secret = decoded.partition(":")
            return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
        return self.get_argument("client_id", None), self.get_argument("client_secret", None)


class TokenHandler(_JsonOAuthHandler):
    """``POST /services/oauth2/token``: every grant, and the device flow's code request.

    Grants: ``authorization_code``, ``refresh_token``, ``device`` (polling), and
    ``client_credentials`` and JWT bearer (see ``_grants``). Without ``grant_type``,
    ``response_type=device_code`` starts the device flow, as on Salesforce.
    """

    async def post(self) -> None:
        state = self.state
        state.stats.increment("token_requests")
        fault = state.token_fault
        if fault == "slow":
            # Wait on the stop event rather than sleeping, so that stopping ends it at once.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(state.loop_stop_event().wait(), state.slow_seconds)
        elif fault == "500":
            self.set_status(500)
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish("<html><body><h1>500 Internal Server Error</h1></body></html>")
            return
        elif fault == "garbage":
            self.finish("<html><body>Service temporarily unavailable{")
            return
        elif fault == "invalid_grant":
            self.oauth_error(OAuthError("invalid_grant", "authentication failure"))
            return
        grant_type = self.get_argument("grant_type", None)
        try:
            if grant_type is None and self.get_argument("response_type", None) == "device_code":
                self.finish(json.dumps(self._device_code()))
                return
            if grant_type in GRANT_STATS:
                state.stats.increment(GRANT_STATS[grant_type])
            grant = self._grant(grant_type)
        except OAuthError as error:
            self.oauth_error(error)
            return
        self.finish(
            json.dumps(self._answer(grant, grant_type, bad_signature=fault == "bad_signature"))
        )

    def _device_code(self) -> dict[str, Any]:
        """Start the device flow: Salesforce's four fields, no ``expires_in``."""
        state = self.state
        state.stats.increment("device_requests")
        client_id, client_secret = self.client_credentials()
        state.oauth.check_client(client_id, client_secret, secret_optional=True)
        assert client_id is not None
        scope = (self.get_argument("scope", "") or "").split() or list(DEFAULT_SCOPES)
        device = state.devices.start(client_id, scope)
        return {
            "device_code": device.device_code,
            "user_code": device.user_code,
            "verification_uri": f"{state.base_url}/setup/connect",
            "interval": state.config.device_interval,
        }

    def _grant(self, grant_type: str | None) -> TokenGrant:
        oauth = self.state.oauth
        if grant_type not in GRANT_STATS:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        client_id, client_secret = self.client_credentials()
        if grant_type == "device":
            oauth.check_client(client_id, client_secret, secret_optional=True)
            assert client_id is not None
            code = self.get_argument("code", None)
            if not code:
                raise OAuthError("invalid_grant", "invalid device code")
            return self.state.devices.poll(client_id, code)
        if grant_type == JWT_BEARER:
            # The assertion is the client's proof: no id, no secret (its iss names the app).
            assertion = self.get_argument("assertion", "") or ""
            # aud names this login host, written as an origin or as its root URL: the
            # Salesforce CLI's `sf org login jwt` sends the --instance-url it normalized
            # to "https://host/" first (restforce documents "https://login.salesforce.com/").
            base = self.state.base_url.rstrip("/")
            return jwt_bearer_grant(oauth, self.state.certificates, assertion, {base, base + "/"})
        oauth.check_client(client_id, client_secret)
        assert client_id is not None
        if grant_type == "client_credentials":
            if client_secret is None:  # this flow always needs the secret
                raise OAuthError("invalid_client", "invalid client credentials")
            return client_credentials_grant(oauth, client_id, self.get_argument("scope", "") or "")
        if grant_type == "authorization_code":
            code = self.get_argument("code", None)
            if not code:
                raise OAuthError("invalid_grant", "invalid authorization code")
            return oauth.redeem_code(
                code,
                client_id,
                self.get_argument("redirect_uri", None),
                self.get_argument("code_verifier", None),
                public=client_secret is None,
            )
        refresh_token = self.get_argument("refresh_token", None)
        if not refresh_token:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        return oauth.refresh(refresh_token, client_id)

    def _answer(
        self, grant: TokenGrant, grant_type: str | None, bad_signature: bool
    ) -> dict[str, Any]:
        state = self.state
        identity = state.identity_url(grant.username)
        issued_at = str(grant.issued_at_ms)
        secret = state.config.client_secret + ("-tampered" if bad_signature else "")
        scope = " ".join(grant.scope)
        if grant_type == JWT_BEARER:
            # Salesforce's JWT bearer answer: no signature, no issued_at, no refresh token.
            return {
                "access_token": grant.access_token,
                "scope": scope,
                "instance_url": state.base_url,
                "id": identity,
                "token_type": "Bearer",
            }
        answer: dict[str, Any] = {"access_token": grant.access_token}
        if grant.refresh_token is not None:
            answer["refresh_token"] = grant.refresh_token
        answer["signature"] = token_signature(secret, identity, issued_at)
        answer["scope"] = scope
        if grant_type in OIDC_GRANTS and "openid" in grant.scope:
            answer["id_token"] = state.oidc.id_token(
                issuer=state.base_url,
                subject=identity,
                audience=grant.client_id,
                access_token=grant.access_token,
                nonce=grant.nonce,
                profile=id_token_profile(state, grant.username),
            )
        answer.update(
            {
                "instance_url": state.base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )
        return answer


def identity_urls(base: str, org_id: str, user_id: str) -> dict[str, str]:
    data = base + "/services/data/v{version}/"
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org_id[:15]}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org_id[:15]}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org_id[:15]}",
        "rest": data,
        "sobjects": data + "sobjects/",
        "search": data + "search/",
        "query": data + "query/",
        "recent": data + "recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org_id[:15]}",
        "tooling_rest": data + "tooling/",
        "profile": f"{base}/{user_id}",
        "feeds": data + "chatter/feeds",
        "groups": data + "chatter/groups",
        "users": data + "chatter/users",
        "feed_items": data + "chatter/feed-items",
        "feed_elements": data + "chatter/feed-elements",
        "custom_domain": base,
    }


class _IdentityBase(_JsonOAuthHandler):
    """Identity service answers: 403 ``Bad_OAuth_Token`` etc. as plain text, like Salesforce."""

    def identity_error(self, status: int, text: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain;charset=UTF-8")
        self.finish(text)

    def token_user(self, token: str | None) -> str | None:
        if not token:
            self.identity_error(403, "Missing_OAuth_Token")
            return None
        access = self.state.oauth.access(token)
        if access is None:
            self.identity_error(403, "Bad_OAuth_Token")
            return None
        return access.username

    def user_details(self, row: int) -> dict[str, Any]:
        return user_details(self.state, row)


def user_details(state: EmulatorState, row: int) -> dict[str, Any]:
    """What the identity services say about the user in ``row`` of the User table."""
    store = state.store
    columns = store.users.columns
    user_id = columns["Id"][row]
    base = state.base_url
    return {
        "user_id": user_id,
        "username": columns["Username"][row],
        "name": columns["Name"][row],
        "first_name": columns["FirstName"][row],
        "last_name": columns["LastName"][row],
        "email": columns["Email"][row],
        "photos": {
            "picture": f"{base}/profilephoto/005/F",
            "thumbnail": f"{base}/profilephoto/005/T",
        },
        "urls": identity_urls(base, store.org_id, user_id),
        "updated": columns["LastModifiedDate"][row],
    }


def id_token_profile(state: EmulatorState, username: str) -> dict[str, Any]:
    """The profile claims Salesforce puts in an ID token after the standard ones."""
    row = state.store.user_row(username)
    assert row is not None
    details = user_details(state, row)
    return {
        "name": details["name"],
        "preferred_username": details["username"],
        "nickname": details["username"].split("@")[0],
        "given_name": details["first_name"],
        "family_name": details["last_name"],
        "email": details["email"],
        "email_verified": True,
        "zoneinfo": "GMT",
        "locale": "en_US",
        "picture": details["photos"]["picture"],
        "profile": details["urls"]["profile"],
        "updated_at": details["updated"][:19] + "Z",
    }


class UserInfoHandler(_IdentityBase):
    """``/services/oauth2/userinfo``: the OpenID Connect UserInfo answer."""

    def get(self) -> None:
        self.state.stats.increment("userinfo_requests")
        username = self.token_user(bearer_token(self) or self.get_argument("access_token", None))
        if username is None:
            return
        row = self.state.store.user_row(username)
        assert row is not None
        details = self.user_details(row)
        updated = details["updated"]
        self.finish(
            json.dumps(
                {
                    "sub": self.state.identity_url(username),
                    "user_id": details["user_id"],
                    "organization_id": self.state.org_id,
                    "preferred_username": details["username"],
                    "nickname": details["username"].split("@")[0],
                    "name": details["name"],
                    "email": details["email"],
                    "email_verified": True,
                    "given_name": details["first_name"],
                    "family_name": details["last_name"],
                    "zoneinfo": "GMT",
                    "photos": details["photos"],
                    "profile": details["urls"]["profile"],
                    "picture": details["photos"]["picture"],
                    # The user's address parts Salesforce fills in; the demo org's users
                    # are all in the US (locale en_US), as Salesforce's sample.
                    "address": {"country": "US"},
                    "is_salesforce_integration_user": False,
                    "urls": details["urls"],
                    "active": True,
                    "user_type": "STANDARD",
                    "language": "en_US",
                    "locale": "en_US",
                    "utcOffset": 0,
                    "updated_at": updated[:19] + "Z",
                    "is_app_installed": True,
                }
            )
        )

    def post(self) -> None:
        self.get()


class IdentityHandler(_IdentityBase):
    """The identity URL ``/id/ORG/USER`` returned as ``id`` with every token."""

    def get(self, org_id: str, user_id: str) -> None:
        token = bearer_token(self) or self.get_argument("oauth_token", None)
        username = self.token_user(token)
        if username is None:
            return
        store = self.state.store
        if org_id[:15] != store.org_id[:15]:
            self.identity_error(403, "Wrong_Org")
            return
        users = store.users
        row = users.row_of(user_id)
        if row is None:
            self.identity_error(404, "Bad_Id")
            return
        details = self.user_details(row)
        target = details["username"]
        self.finish(
            json.dumps(
                {
                    "id": f"{self.state.base_url}/id/{store.org_id}/{details['user_id']}",
                    "asserted_user": target.lower() == username.lower(),
                    "user_id": details["user_id"],
                    "organization_id": store.org_id,
                    "username": details["username"],
                    "nick_name": details["username"].split("@")[0],
                    "display_name": details["name"],
                    "email": details["email"],
                    "email_verified": True,
                    "first_name": details["first_name"],
                    "last_name": details["last_name"],
                    "timezone": "GMT",
                    "photos": details["photos"],
                    "addr_street": None,
                    "addr_city": None,
                    "addr_state": None,
                    "addr_country": None,
                    "addr_zip": None,
                    "mobile_phone": None,
                    "mobile_phone_verified": False,
                    "is_lightning_login_user": False,
                    "status": {"created_date": None, "body": None},
                    "urls": details["urls"],
                    "active": True,
                    "user_type": "STANDARD",
                    "language": "en_US",
                    "locale": "en_US",
                    "utcOffset": 0,
                    "last_modified_date": details["updated"],
                    "is_app_installed": True,
                }
            )
        )

    def post(self, org_id: str, user_id: str) -> None:
        self.get(org_id, user_id)


class RevokeHandler(_JsonOAuthHandler):
    """``/services/oauth2/revoke``: 200 with an empty body, 400 for an unknown token."""

    def post(self) -> None:
        self.state.stats.increment("revocations")
        token = self.get_argument("token", None)
        if not token or not self.state.oauth.revoke(token):
            self.oauth_error(
                OAuthError("unsupported_token_type", "this token type is not supported")
            )
            return
        self.clear_header("Content-Type")
        self.finish(b"")

    def get(self) -> None:
        self.post()


class IntrospectHandler(_JsonOAuthHandler):
    """``/services/oauth2/introspect`` (RFC 7662), for the app's own client credentials."""

    def post(self) -> None:
        state = self.state
        client_id, client_secret = self.client_credentials()
        try:
            state.oauth.check_client(client_id, client_secret or "")
        except OAuthError as error:
            self.oauth_error(error)
            return
        token = self.get_argument("token", "")
        record = state.oauth.describe_token(token)
        if record is None:
            self.finish(json.dumps({"active": False}))
            return
        answer: dict[str, Any] = {
            "active": True,
            "scope": " ".join(record.scope),
            "client_id": record.client_id,
            "username": record.username,
            "sub": state.identity_url(record.username),
        }
        if isinstance(record, AccessToken):
            answer.update(
                {
                    "token_type": "access_token",
                    "exp": int(record.expires),
                    "iat": int(record.issued_at),
                    "nbf": int(record.issued_at),
                }
            )
        else:
            answer["token_type"] = "refresh_token"
        self.finish(json.dumps(answer))


class JwksHandler(_JsonOAuthHandler):
    """``/id/keys``: the JWKS that verifies the emulator's ID tokens (``jwks_uri``)."""

    def get(self) -> None:
        self.finish(json.dumps(self.state.oidc.jwks()))


class WellKnownHandler(_JsonOAuthHandler):
    """OpenID discovery metadata, so that OAuth libraries can find the endpoints."""

    def get(self) -> None:
        base = self.state.base_url
        self.finish(
            json.dumps(
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/services/oauth2/authorize",
                    "token_endpoint": f"{base}/services/oauth2/token",
                    "revocation_endpoint": f"{base}/services/oauth2/revoke",
                    "userinfo_endpoint": f"{base}/services/oauth2/userinfo",
                    "introspection_endpoint": f"{base}/services/oauth2/introspect",
                    "jwks_uri": f"{base}/id/keys",
                    "scopes_supported": [
                        "id",
                        "api",
                        "web",
                        "full",
                        "openid",
                        "profile",
                        "email",
                        "refresh_token",
                        "offline_access",
                    ],
                    "response_types_supported": ["code"],
                    "grant_types_supported": [
                        "authorization_code",
                        "refresh_token",
                        "device",
                        "client_credentials",
                        JWT_BEARER,
                    ],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_post",
                        "client_secret_basic",
                        "none",
                    ],
                    "code_challenge_methods_supported": ["S256"],
                    "claims_supported": [
                        "active",
                        "address",
                        "email",
                        "email_verified",
                        "family_name",
                        "given_name",
                        "is_app_installed",
                        "language",
                        "locale",
                        "name",
                        "nickname",
                        "organization_id",
                        "phone_number",
                        "photos",
                        "picture",
                        "preferred_username",
                        "profile",
                        "sub",
                        "updated_at",
                        "urls",
                        "user_id",
                        "user_type",
                        "zoneinfo",
                    ],
                }
            )
        )
