"""What the badge tests share: a connect form driven to *connected* through the real
server extension and emulator, what its badge shows, and waiting on the running loop
(the kernel's: its watcher and its background check run there, no cell runs)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ak_salesforce_nb as aksf
from tests.conftest import CLIENT_ID, CLIENT_SECRET, Flow

_BADGE = re.compile(r"class='aksf-state' data-state='([a-z_]+)'")


def badge(form: Any) -> str:
    """The badge's ``data-state``: what the person looking at the form is told."""
    match = _BADGE.search(form.title.value)
    assert match, form.title.value
    return match.group(1)


def badge_text(form: Any) -> str:
    return re.sub(r"<[^>]+>", "", form.title.value)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until `condition()` held, sleeping on the running loop (so the kernel-side
    tasks run, as in an idle kernel); AssertionError after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:g} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def connected_form(flow: Flow, name: str = "prod", **options: Any) -> Any:
    """A form for `name`, authorized at the emulator the way a browser would."""
    form = aksf.connect(name, enhanced=False, **options)
    form.client_id.value = CLIENT_ID
    form.login_host.value = "custom"
    form.custom_url.value = flow.emu.url
    form.client_secret.value = CLIENT_SECRET
    start_url = form.authorize()
    assert start_url, form.validation.value
    state = dict(parse_qsl(urlsplit(start_url).query))["state"]
    page = await flow.callback(await flow.salesforce(await flow.start(state)))
    assert page.code == 200, page.body
    await until(lambda: form.state == "connected", timeout=10)
    return form
