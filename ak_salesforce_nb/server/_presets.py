"""Connections an administrator sets up once (``c.SalesforceOAuth.presets``).

On a team server, a JupyterHub or a Docker image, the administrator names the
Salesforce app once::

    c.SalesforceOAuth.presets = {
        "prod": {
            "client_id": "3MVG9…",
            "login_url": "https://acme.my.salesforce.com",
            "scopes": "api refresh_token",
            "client_secret_file": "/etc/jupyter/salesforce-prod.secret",
        }
    }

(or the same JSON in ``$AK_SALESFORCE_NB_PRESETS``). When the server starts, each preset
becomes a connection in the user's own store, where users see it and only click
Authorize; the secret is read here, on the server, sealed into the store like any secret,
and never sent to a browser. A preset without ``client_secret_file`` is a public client
(PKCE only): no secret is stored or sent. The definitions are checked like a PUT's
settings, and a mistake stops the server with a sentence saying which preset and why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core._connections import MAX_SECRET_LENGTH, ConnectionDefaults
from ..core._exceptions import ConfigurationError
from ..core._store import ConnectionStore, PresetSettings
from ..core._validation import (
    check_login_url,
    normalize_scopes,
    validate_client_id,
    validate_connection_name,
)

__all__ = ["PRESET_KEYS", "apply_presets", "parse_presets"]

#: What a preset may say. ``client_id`` is required; the rest have the server's defaults
#: (login host, scopes) or none (a public client has no secret).
PRESET_KEYS = ("client_id", "login_url", "scopes", "client_secret_file")


def _read_secret(name: str, path_text: object) -> str | None:
    if path_text is None or path_text == "":
        return None
    if not isinstance(path_text, str):
        raise ConfigurationError(f"Preset {name!r}: client_secret_file must be a path.")
    path = Path(path_text).expanduser()
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"Preset {name!r}: cannot read its client_secret_file {str(path)!r} "
            f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}). The file "
            "must be readable by the user this Jupyter server runs as."
        ) from None
    if not secret or len(secret) > MAX_SECRET_LENGTH or any(ch.isspace() for ch in secret):
        raise ConfigurationError(
            f"Preset {name!r}: its client_secret_file {str(path)!r} does not hold one "
            "Consumer Secret (it should contain the secret alone, on one line)."
        )
    return secret


def parse_presets(
    configured: Mapping[str, Any], defaults: ConnectionDefaults
) -> dict[str, PresetSettings]:
    """Check every preset (`configured`: the trait, merged over the environment's) and
    read its secret; a `ConfigurationError` names the first mistake."""
    presets: dict[str, PresetSettings] = {}
    for name, definition in configured.items():
        try:
            validate_connection_name(name)
        except ConfigurationError as exc:
            raise ConfigurationError(f"Preset {str(name)[:70]!r}: {exc}") from None
        if not isinstance(definition, Mapping):
            raise ConfigurationError(
                f"Preset {name!r} must be a mapping of {', '.join(PRESET_KEYS)}."
            )
        unknown = [str(key)[:40] for key in definition if key not in PRESET_KEYS]
        if unknown:
            hint = (
                " (a secret is given as client_secret_file, a file only the server reads)"
                if "client_secret" in unknown
                else ""
            )
            raise ConfigurationError(
                f"Preset {name!r} has unknown settings {unknown}: a preset takes "
                f"{', '.join(PRESET_KEYS)}{hint}."
            )
        try:
            client_id = validate_client_id(definition.get("client_id"))
            if not client_id:
                raise ConfigurationError("client_id is required.")
            login_url = check_login_url(
                definition.get("login_url") or defaults.login_url, defaults.allowed_login_hosts
            )
            scopes = normalize_scopes(definition.get("scopes") or defaults.scopes)
        except ConfigurationError as exc:
            raise ConfigurationError(f"Preset {name!r}: {exc}") from None
        presets[name] = PresetSettings(
            client_id=client_id,
            login_url=login_url,
            scopes=scopes,
            client_secret=_read_secret(name, definition.get("client_secret_file")),
        )
    return presets


def apply_presets(
    store: ConnectionStore, presets: Mapping[str, PresetSettings], log: logging.Logger
) -> dict[str, str]:
    """Bring the user's store in line with `presets` (idempotent); what happened to each
    name. Presets no longer configured become the user's own connections."""
    outcomes: dict[str, str] = {}
    for name, preset in presets.items():
        outcome = store.apply_preset(name, preset)
        outcomes[name] = outcome
        if outcome == "skipped":
            log.warning(
                "ak_salesforce_nb: preset %r not applied: this user already has a connection "
                "of that name, which was left alone (delete it to get the preset).",
                name,
            )
        elif outcome != "unchanged":
            log.info("ak_salesforce_nb: preset connection %r %s", name, outcome)
    for name in store.retire_presets(presets):
        outcomes[name] = "retired"
        log.info(
            "ak_salesforce_nb: %r is no longer a preset; it stays as the user's connection",
            name,
        )
    return outcomes
