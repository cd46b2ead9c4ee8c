"""``python -m ak_salesforce_nb.emulator`` as a real process: announce, serve, stop cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator
from ak_salesforce_nb.emulator.__main__ import build_parser, config_from_args

from .helpers import get_token_from, http_client

REPO = Path(__file__).resolve().parents[2]


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not lines:
        process.kill()
        process.wait(10)
        raise AssertionError(f"no first line within {timeout}s; stderr: {process.stderr.read()}")  # type: ignore[union-attr]
    return lines[0]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_command_serves_until_signalled(stop_signal: signal.Signals) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ak_salesforce_nb.emulator",
            "--port",
            "0",
            "--accounts",
            "50",
            "--auto-approve",
            "--user",
            "bob@example.com:builder",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        line = _first_line(process, timeout=30)
        match = re.fullmatch(
            r"ak-salesforce-emulator listening on (http://127\.0\.0\.1:(\d+))\n", line
        )
        assert match, line
        url = match.group(1)
        with http_client(url) as client:
            versions = client.get("/services/data/")
            assert versions.status_code == 200 and versions.json()[-1]["version"] == "68.0"
            token = get_token_from(client, login_hint="bob@example.com")
            assert token["id"].split("/")[-1].startswith("005")
            count = client.get(
                "/services/data/v66.0/query",
                params={"q": "SELECT COUNT() FROM Account"},
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
            assert count.json()["totalSize"] == 50
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_arguments_map_to_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--accounts",
            "7",
            "--seed",
            "3",
            "--callback-url",
            "https://a.example/oauth/redirect/salesforce",
            "--callback-url",
            "https://b.example/oauth/redirect/salesforce",
            "--username",
            "root@example.com",
            "--password",
            "pw",
            "--user",
            "x@example.com:secret:with:colons",
            "--require-pkce",
            "--rotate-refresh-tokens",
            "--session-timeout",
            "60",
            "--extra-objects",
            "1000",
        ]
    )
    config = config_from_args(args)
    assert config.accounts == 7 and config.seed == 3
    assert config.callback_urls == [
        "https://a.example/oauth/redirect/salesforce",
        "https://b.example/oauth/redirect/salesforce",
    ]
    assert config.users == {"root@example.com": "pw", "x@example.com": "secret:with:colons"}
    assert config.default_username == "root@example.com"
    assert config.require_pkce and config.rotate_refresh_tokens
    assert config.session_timeout == 60 and config.extra_objects == 1000
    assert config.auto_approve is False and config.host == "127.0.0.1" and config.port == 0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--user", "no-password"])
    assert config.shuffle_results is False and config.validation_rule_prefix is None


def test_write_back_arguments_map_to_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--shuffle-results",
            "--validation-rule-prefix",
            "REJECT",
            "--bulk-ingest-chunk-size",
            "250",
            "--bulk-job-delay",
            "1.5",
        ]
    )
    config = config_from_args(args)
    assert config.shuffle_results is True and config.validation_rule_prefix == "REJECT"
    assert config.bulk_ingest_chunk_size == 250 and config.bulk_job_delay == 1.5
    with pytest.raises(ValueError, match="bulk_ingest_chunk_size"):
        config_from_args(build_parser().parse_args(["--bulk-ingest-chunk-size", "0"])).validate()


def test_start_on_a_taken_port_fails_clearly() -> None:
    with start_emulator(EmulatorConfig(accounts=1)) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(RuntimeError, match="did not start"):
            start_emulator(EmulatorConfig(accounts=1, port=port))
