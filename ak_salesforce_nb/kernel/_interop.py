"""Working with the Salesforce CLI: import an org it authorized, export an auth URL for CI.

- `import_sf_cli("my-alias", name="prod")` asks ``sf org display --target-org my-alias
  --verbose --json`` for the org's sfdx auth URL (never reading the CLI's key files or
  its encrypted auth files), redeems it once to prove it works, and saves the connection
  in the store, as if it had been authorized in the connect form.
- `export_auth_url("prod")` gives the auth URL of a stored connection, for a CI secret
  (``AK_SALESFORCE_NB_PROD_AUTH_URL``, or ``sf org login sfdx-url``), with a
  `SecretWarning`: it holds the refresh token.
- `save_credentials` is what both that and ``aksf.session(…, save=True)`` use to keep
  an auth URL's connection in the store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from typing import Any

import httpx

from ..core._auth_url import format_auth_url, parse_auth_url
from ..core._constants import DEFAULT_HTTP_TIMEOUT, DEFAULT_SCOPES
from ..core._exceptions import (
    ConfigurationError,
    NotConnected,
    PresetLocked,
    SalesforceCliError,
    SecretWarning,
)
from ..core._oauth import parse_identity, transport_error, userinfo_request
from ..core._store import ConnectionRecord, ConnectionStore
from ..core._tls import verify_for
from ..core._validation import validate_connection_name
from ._headless import Credentials, CredentialsTokenProvider

__all__ = ["SecretText", "export_auth_url", "import_sf_cli", "save_credentials"]

#: Seconds `sf org display` may take (its first run in a container can be slow).
SF_TIMEOUT = 120.0


class SecretText(str):
    """A secret string whose repr hides it, so that a notebook cell ending in
    ``aksf.export_auth_url("prod")`` does not save the secret in its output; ``str()``,
    ``print()`` and writing it out give the value, which is the point of asking."""

    __slots__ = ("_shown",)
    _shown: str

    def __new__(cls, value: str, shown: str) -> SecretText:
        text = super().__new__(cls, value)
        text._shown = shown
        return text

    def __repr__(self) -> str:
        return f"<secret: {self._shown}; print() or str() gives it>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def save_credentials(
    store: ConnectionStore, provider: CredentialsTokenProvider, *, timeout: float | None = None
) -> ConnectionRecord:
    """Keep `provider`'s auth URL connection in `store`: its app (client id, secret,
    instance host as login URL), its tokens and who it is (asked of userinfo). Only an
    auth URL can be kept: client credentials and JWT have no refresh token, so the store
    could not renew them; their variables stay the way to run."""
    credentials = provider.credentials
    if credentials.grant != "auth_url":
        raise ConfigurationError(
            f"Only an auth URL can be saved in the store; the {credentials.grant} flow of "
            f"{credentials.name!r} has no refresh token to keep. Keep "
            f"{credentials.where or 'its settings'} set wherever the notebook runs instead."
        )
    name = credentials.name
    validate_connection_name(name)
    existing = store.find_connection(name)
    if existing is not None and existing.preset:
        changed = [
            what
            for what, mine, theirs in (
                ("Client ID", credentials.client_id, existing.client_id),
                ("login URL", credentials.login_url, existing.login_url),
            )
            if mine != theirs
        ]
        if changed:
            raise PresetLocked(name, changed)
    tokens = provider.current()
    transport = provider._transport
    with httpx.Client(
        timeout=timeout or provider.http_timeout,
        transport=transport,
        verify=verify_for(transport),
    ) as client:
        try:
            response = client.send(userinfo_request(tokens.instance_url, tokens.access_token))
        except httpx.HTTPError as exc:
            raise transport_error(exc, "userinfo endpoint", client.timeout.read or 0.0) from exc
    identity = parse_identity(response, "")
    store.save_settings(
        name,
        client_id=credentials.client_id,
        login_url=credentials.login_url,
        scopes=existing.scopes if existing is not None and existing.scopes else DEFAULT_SCOPES,
        client_secret=credentials.client_secret or None,
    )
    return store.record_authorized(
        name,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        instance_url=tokens.instance_url,
        issued_at=tokens.issued_at,
        identity=identity.as_dict(),
    )


def _sf_json(output: str) -> Any:
    start = output.find("{")
    if start < 0:
        return None
    try:
        return json.loads(output[start:])
    except json.JSONDecodeError:
        return None


def _run_sf(command: str, target: str, timeout: float) -> dict[str, Any]:
    """The ``result`` of ``sf org display --target-org TARGET --verbose --json``. Its
    output holds tokens: no error repeats it, only sf's own error name and message."""
    executable = shutil.which(command)
    if executable is None:
        raise SalesforceCliError(
            f"The Salesforce CLI ({command}) is not installed or not on PATH. Install it "
            "(npm install --global @salesforce/cli), authorize the org with "
            f"`sf org login web --alias {target}`, then import it again; or connect "
            "with aksf.connect(NAME) instead."
        )
    argv = [executable, "org", "display", "--target-org", target, "--verbose", "--json"]
    env = dict(os.environ, SF_JSON_TO_STDOUT="true", SF_DISABLE_TELEMETRY="true")
    try:
        done = subprocess.run(  # a fixed argument list, no shell
            argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise SalesforceCliError(
            f"`sf org display --target-org {target}` did not finish within {timeout:g} seconds."
        ) from None
    except OSError as exc:
        raise SalesforceCliError(f"The Salesforce CLI could not be run ({exc.strerror}).") from None
    data = _sf_json(done.stdout) or _sf_json(done.stderr)
    if not isinstance(data, dict):
        raise SalesforceCliError(
            f"`sf org display --target-org {target} --json` answered (exit code "
            f"{done.returncode}) with something that is not JSON; run it in a terminal to "
            "see why."
        )
    if done.returncode != 0 or data.get("status", 0) != 0 or "result" not in data:
        error = str(data.get("name") or "error")[:80]
        message = str(data.get("message") or "")[:300]
        hint = (
            f" Check the alias or username (`sf org list`), or authorize it with "
            f"`sf org login web --alias {target}`."
            if "NotFound" in error or "NoAuthInfo" in error or "No authorization" in message
            else ""
        )
        raise SalesforceCliError(
            f"The Salesforce CLI has no usable org {target!r}: {error}: {message}{hint}"
        )
    result = data["result"]
    if not isinstance(result, dict):
        raise SalesforceCliError("`sf org display --json` answered without a result object.")
    return result


def import_sf_cli(
    alias_or_username: str,
    name: str | None = None,
    *,
    store: ConnectionStore | None = None,
    sf_command: str = "sf",
    timeout: float = SF_TIMEOUT,
    http_timeout: float = DEFAULT_HTTP_TIMEOUT,
) -> ConnectionRecord:
    """Save the org the Salesforce CLI knows as `alias_or_username` in the store, as the
    connection `name` (default: the alias, when it is a valid connection name).

    The CLI is asked through ``sf org display --verbose --json``; its key and auth files
    are never read. The auth URL it prints is redeemed once (a refresh-token grant) to
    prove it works, then kept like a connection authorized in the form: sessions refresh
    it, ``aksf.connect(name)`` shows it connected. Raises `SalesforceCliError` when the
    CLI is missing or does not know the org, `CredentialsRefused` when Salesforce refuses
    the refresh token.
    """
    if not isinstance(alias_or_username, str) or not alias_or_username.strip():
        raise ConfigurationError("Give the alias or username of an org the Salesforce CLI knows.")
    target = alias_or_username.strip()
    if name is None:
        try:
            name = validate_connection_name(target)
        except ConfigurationError:
            raise ConfigurationError(
                f"{target!r} cannot be a connection name: give one, e.g. "
                f"aksf.import_sf_cli({target!r}, name='prod')."
            ) from None
    validate_connection_name(name)
    result = _run_sf(sf_command, target, timeout)
    text = result.get("sfdxAuthUrl")
    if not isinstance(text, str) or not text:
        raise SalesforceCliError(
            f"The Salesforce CLI has no refresh token for {target!r} (no sfdxAuthUrl in "
            "`sf org display --verbose --json`): it was authorized with an access token or "
            f"a JWT. Authorize it with `sf org login web --alias {target}`, then import again."
        )
    where = f"the auth URL of {target!r} in the Salesforce CLI"
    parsed = parse_auth_url(text, source=where)
    credentials = Credentials(
        name=name,
        grant="auth_url",
        source="arguments",
        client_id=parsed.client_id,
        login_url=parsed.instance_url,
        settings={"auth_url": where},
        client_secret=parsed.client_secret,
        refresh_token=parsed.refresh_token,
    )
    provider = CredentialsTokenProvider(credentials, http_timeout=http_timeout)
    return save_credentials(store if store is not None else ConnectionStore(), provider)


def export_auth_url(name: str = "default", *, store: ConnectionStore | None = None) -> SecretText:
    """The sfdx auth URL of the stored connection `name`, for a CI secret such as
    ``AK_SALESFORCE_NB_<NAME>_AUTH_URL`` (or ``sf org login sfdx-url``).

    It holds the refresh token (and the client secret): a `SecretWarning` says so, and
    its repr hides it so a cell's output does not keep it. Raises `ConnectionNotFound`
    or `NotConnected` when there is nothing to export.
    """
    store = store if store is not None else ConnectionStore()
    record = store.get_connection(name)
    tokens = store.get_tokens(name)
    if tokens is None:
        raise NotConnected(name, record.state)
    if not tokens.refresh_token:
        raise ConfigurationError(
            f"The connection {name!r} has no refresh token to export: add the refresh_token "
            f"scope to the app and to the connection, then authorize it again."
        )
    text = format_auth_url(
        client_id=record.client_id,
        client_secret=store.get_client_secret(name),
        refresh_token=tokens.refresh_token,
        instance_url=tokens.instance_url,
    )
    warnings.warn(
        SecretWarning(
            f"The auth URL of {name!r} holds its refresh token: whoever has it can use the org "
            "as you until it is revoked. Keep it in a secret store (a CI secret), never in a "
            "notebook's output or a repository."
        ),
        stacklevel=2,
    )
    return SecretText(text, str(parse_auth_url(text)))
