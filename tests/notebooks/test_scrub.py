"""`python -m ak_salesforce_nb scrub`: notebooks seeded with every kind of secret, in
outputs, metadata and widget state, come out clean; a secret in a cell's source is never
rewritten and fails the command, naming the cell and the kind."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ak_salesforce_nb.cli import _scrub_command, main
from ak_salesforce_nb.cli._commands import build_parser
from ak_salesforce_nb.cli._patterns import REDACT_PATTERNS, SECRET_PATTERNS, find
from ak_salesforce_nb.cli._scrub import WIDGET_VIEW_MIMETYPE, scrub_file

# Shaped like the real thing, made up here (random-looking, never issued by anybody).
ACCESS = "00D5g000004XyZq!AQ8AQHk3mJ2pQx9Vt7Lr.Wb4Yc6Nd1Fe5Gh8Ij0Kl3Mn6Op9Qr2St5Uv8Wx1Yz4Ab7Cd0"
REFRESH = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrAuYd3d0hbZwfR4uFf2NxmKpVkJ8a3Qe7Ru9Ws.Xy6Zz"
SECRET_HEX = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
AUTH_URL = f"force://3MVG9lKcPoNINVBJSoQsNCD.HHDdbugPsNXwwyFbgb47KWa:{SECRET_HEX}:{REFRESH}@acme.my.salesforce.com"
JWT = (
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIzTVZHOSIsInN1YiI6ImFkYUBhY21lLmNvbSJ9."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2"
)
BEARER_ONLY = "Q2xpZW50VG9rZW5WYWx1ZTEyMzQ1Njc4OTA"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----\n"
)
EMAIL = "ada.lovelace@acme-corp.example.com"
HOST = "acme-corp.my.salesforce.com"
EVERY_SECRET = (ACCESS, REFRESH, SECRET_HEX, AUTH_URL, JWT, BEARER_ONLY, "MIIEvQIBADANBgkq")


def _widget_output(model_id: str = "a1b2c3") -> Any:
    return nbformat.v4.new_output(
        "display_data",
        data={
            WIDGET_VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": model_id},
            "text/plain": f"Salesforce connection\n  Connection: prod\n  User: {EMAIL}",
            "text/html": f"<div>prod · connected · {EMAIL} · https://{HOST}</div>",
        },
    )


def seeded_notebook(*, secret_in_source: bool = False) -> Any:
    """Every kind of secret, everywhere scrub looks; optionally one in a cell's source."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": {"a1b2c3": {"model_name": "TextModel", "state": {"value": SECRET_HEX}}},
        }
    }
    nb.metadata["papermill"] = {"parameters": {"auth_url": AUTH_URL, "connection": "prod"}}
    intro = nbformat.v4.new_markdown_cell("# Demo\nConnect with `aksf.connect('prod')`.")
    connect = nbformat.v4.new_code_cell('import ak_salesforce_nb as aksf\naksf.connect("prod")')
    connect.outputs = [_widget_output()]
    connect.metadata["tags"] = ["parameters"]
    connect.metadata["debug"] = {"Authorization": f"Bearer {BEARER_ONLY}"}
    query = nbformat.v4.new_code_cell('sf = aksf.session("prod")\nsf.tokens')
    query.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stdout",
            text=[
                f"access_token={ACCESS}\n",
                f"refresh_token: {REFRESH}\n",
                f"client_secret={SECRET_HEX}&grant_type=refresh_token\n",
                f"Authorization: Bearer {BEARER_ONLY}\n",
                f"id_token {JWT}\n",
                f"user {EMAIL} on https://{HOST}/services/data\n",
            ],
        ),
        nbformat.v4.new_output(
            "execute_result",
            execution_count=2,
            data={
                "text/plain": f"{{'consumer_secret': '{SECRET_HEX}', 'auth_url': '{AUTH_URL}'}}",
                "application/json": {"token": {"access_token": ACCESS, "key": PEM}},
            },
            metadata={"note": f"sfdx auth url {AUTH_URL}"},
        ),
        nbformat.v4.new_output(
            "error",
            ename="HTTPStatusError",
            evalue=f"401 for Bearer {BEARER_ONLY}",
            traceback=[f"headers = {{'Authorization': 'Bearer {BEARER_ONLY}'}}", f"jwt={JWT}"],
        ),
    ]
    key_cell = nbformat.v4.new_code_cell("print(open('server.key').read())")
    key_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=PEM)]
    cells = [intro, connect, query, key_cell]
    if secret_in_source:
        leak = nbformat.v4.new_code_cell(
            f'aksf.login("prod", client_id="3MVG9abc", client_secret="{SECRET_HEX}")'
        )
        cells.append(leak)
        cells.append(nbformat.v4.new_markdown_cell(f"Token for reference: {REFRESH}"))
    nb.cells = cells
    return nb


def write(path: Path, nb: Any) -> Path:
    nbformat.write(nb, path)
    return path


def run(*args: str) -> tuple[int, str, str]:
    """`scrub ARGS` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = _scrub_command.run(build_parser().parse_args(["scrub", *args]), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_every_secret_is_removed_from_outputs_and_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.ipynb", seeded_notebook())
    before = nbformat.read(path, as_version=4)
    status, out, err = run(str(path))
    assert status == 0, err
    text = path.read_text()
    for secret in EVERY_SECRET:
        assert secret not in text
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata
    assert nb.metadata["papermill"]["parameters"]["connection"] == "prod"
    # The widget view is gone, its static siblings stay.
    data = nb.cells[1].outputs[0].data
    assert WIDGET_VIEW_MIMETYPE not in data
    assert "prod" in data["text/plain"] and "prod" in data["text/html"]
    # Keys stay readable, values become their kind.
    stream = nb.cells[2].outputs[0].text
    assert "access_token=[REDACTED Salesforce access token]" in stream
    assert "refresh_token: [REDACTED Salesforce refresh token]" in stream
    assert "client_secret=[REDACTED secret next to its key]&grant_type" in stream
    assert "Bearer [REDACTED bearer token]" in stream
    assert "[REDACTED JWT]" in stream
    assert "[REDACTED private key]" in nb.cells[3].outputs[0].text
    # Without --redact, names and hosts stay.
    assert EMAIL in stream and HOST in stream
    # Sources and everything else untouched.
    assert [c.source for c in nb.cells] == [c.source for c in before.cells]
    assert nb.nbformat == before.nbformat and nb.nbformat_minor == before.nbformat_minor
    assert [c.get("id") for c in nb.cells] == [c.get("id") for c in before.cells]
    # The report names cells and kinds, never a secret.
    assert "cell 2, output 0" in out and "Salesforce access token" in out
    assert "notebook metadata: widget state" in out
    for secret in EVERY_SECRET:
        assert secret not in out + err


def test_idempotent_and_untouched_when_clean(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.ipynb", seeded_notebook())
    assert run(str(path))[0] == 0
    once = path.read_bytes()
    stat_once = path.stat().st_mtime_ns
    status, out, _ = run(str(path))
    assert status == 0
    assert out == ""
    assert path.read_bytes() == once
    assert path.stat().st_mtime_ns == stat_once  # not even rewritten
    # What scrub writes is what nbformat writes: Jupyter opens and saves it unchanged.
    assert nbformat.writes(nbformat.read(path, as_version=nbformat.NO_CONVERT)) + "\n" == (
        once.decode()
    )


def test_check_reports_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.ipynb", seeded_notebook())
    before = path.read_bytes()
    status, out, _ = run("--check", str(path))
    assert status == 1
    assert "would remove" in out
    assert path.read_bytes() == before
    run(str(path))
    assert run("--check", str(path))[0] == 0


def test_secret_in_a_source_fails_naming_the_cell_and_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "leak.ipynb", seeded_notebook(secret_in_source=True))
    status, out, err = run(str(path))
    assert status == 1
    assert "cell 4, source (code cell): secret next to its key" in err
    assert "cell 5, source (markdown cell): Salesforce refresh token" in err
    for secret in EVERY_SECRET:
        assert secret not in out + err
    nb = nbformat.read(path, as_version=4)
    # The source is the author's: kept as typed; the outputs are scrubbed all the same.
    assert SECRET_HEX in nb.cells[4].source
    assert ACCESS not in json.dumps(nb.cells[2].outputs)
    # Still failing on the next run: the secret is still there.
    assert run(str(path))[0] == 1


def test_redact_hides_usernames_and_instance_hosts(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.ipynb", seeded_notebook())
    assert run("--redact", str(path))[0] == 0
    text = path.read_text()
    assert EMAIL not in text
    assert HOST not in text
    assert "[REDACTED e-mail address]" in text and "[REDACTED instance host]" in text
    # Sources keep their names (a query may rightly hold one): only outputs are redacted.
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].source == 'import ak_salesforce_nb as aksf\naksf.connect("prod")'


def test_source_that_reads_a_secret_from_the_environment_passes(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os\n"
            'client_secret = os.environ["AK_SALESFORCE_NB_PROD_CLIENT_SECRET"]\n'
            "session = aksf.login('prod', client_secret=client_secret)\n"
            "headers = {'Authorization': f'Bearer {session.tokens.access_token}'}\n"
            "password: str = getpass.getpass()"
        )
    ]
    path = write(tmp_path / "env.ipynb", nb)
    before = path.read_bytes()
    assert run(str(path)) == (0, "", "")
    assert path.read_bytes() == before


def test_layout_of_the_file_is_kept(tmp_path: Path) -> None:
    """A notebook indented by 2 with keys in its writer's order (not nbformat's): only the
    scrubbed value differs, line for line."""
    nb = seeded_notebook()
    raw = json.loads(nbformat.writes(nb))
    raw = {"cells": raw["cells"], "nbformat_minor": raw["nbformat_minor"], **raw}
    path = tmp_path / "vscode.ipynb"
    path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run(str(path))[0] == 0
    lines = path.read_text().splitlines()
    assert lines[1].startswith('  "cells": [')
    assert json.loads(path.read_text())["nbformat_minor"] == raw["nbformat_minor"]
    assert list(json.loads(path.read_text())) == list(raw)


def test_not_a_notebook_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    old = tmp_path / "old.ipynb"
    old.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "cells": [], "metadata": {}}))
    status, _, err = run(str(bad), str(old))
    assert status == 2
    assert "bad.ipynb: is not a notebook (not JSON" in err
    assert "old.ipynb: is an nbformat 3 notebook" in err


def test_write_is_atomic_and_keeps_the_mode(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.ipynb", seeded_notebook())
    path.chmod(0o640)
    result = scrub_file(path)
    assert result.written
    assert (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["demo.ipynb"]  # no temporary left


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (ACCESS, "Salesforce access token"),
        (REFRESH, "Salesforce refresh token"),
        (AUTH_URL, "sfdx auth URL"),
        ("force://PlatformCLI::5Aep861xyz@http://127.0.0.1:8443", "sfdx auth URL"),
        (f"Bearer {BEARER_ONLY}", "bearer token"),
        (f"client_secret={SECRET_HEX}", "secret next to its key"),
        (f'"consumerSecret": "{SECRET_HEX}"', "secret next to its key"),
        (f"AK_SALESFORCE_NB_PROD_CLIENT_SECRET={SECRET_HEX}", "secret next to its key"),
        (JWT, "JWT"),
        (PEM, "private key"),
    ],
)
def test_each_shape_is_recognised(text: str, kind: str) -> None:
    assert [m.kind for m in find(f"x {text} y", SECRET_PATTERNS)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "client_id=3MVG9lKcPoNINVBJSoQsNCD",  # a Client ID is not a secret
        "client_secret=os.environ['SECRET']",
        "password = None",
        "SELECT Id FROM Account WHERE Name = 'Bearer'",
        "https://login.salesforce.com/services/oauth2/authorize",
        "org id 00D5g000004XyZq and user 0055g00000AbCdE",
    ],
)
def test_what_is_not_a_secret(text: str) -> None:
    assert find(text, SECRET_PATTERNS) == []


def test_redact_keeps_the_generic_login_hosts() -> None:
    found = find(
        "login.salesforce.com test.salesforce.com acme.my.salesforce.com "
        "acme--uat.sandbox.my.salesforce.com acme.lightning.force.com",
        REDACT_PATTERNS,
    )
    assert [m.kind for m in found] == ["instance host"] * 3


def test_main_dispatches_and_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "scrub" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_python_m_scrub_in_a_subprocess(tmp_path: Path) -> None:
    clean = write(tmp_path / "clean.ipynb", seeded_notebook())
    leak = write(tmp_path / "leak.ipynb", seeded_notebook(secret_in_source=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AK_SALESFORCE_NB_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ak_salesforce_nb", "scrub", str(clean), str(leak)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "leak.ipynb: SECRET LEFT IN cell 4, source (code cell)" in proc.stderr
    assert "clean.ipynb" not in proc.stderr
    for secret in EVERY_SECRET:
        assert secret not in proc.stdout + proc.stderr
        assert secret not in clean.read_text()
    # The command loads no notebook or server machinery.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runpy; sys.argv = ['x', 'scrub', sys.argv[1]];\n"
            "try:\n    runpy.run_module('ak_salesforce_nb', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in ('tornado', 'jupyter_server', 'ipywidgets', 'pandas',"
            " 'ak_salesforce_nb.kernel', 'ak_salesforce_nb.server') if m in sys.modules))",
            str(clean),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    assert probe.stdout.strip() == "[]", probe.stderr


def test_pre_commit_hook_runs_this_command() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "ak-salesforce-nb-scrub")
    assert hook["entry"] == "python -m ak_salesforce_nb scrub"
    assert hook["types"] == ["jupyter"]
    assert hook["language"] == "python"
