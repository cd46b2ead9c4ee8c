"""The built wheel: what it holds, what installing it pulls in, and that it imports.

The wheel is built from this checkout with hatchling (its JupyterLab extension already
built: the builder hook skips). A full install of every dependency into a fresh venv
takes about two minutes even from a warm pip cache, so the install is checked in two
parts:

- what pip would pull in: ``pip install --dry-run --report`` of the wheel (with its
  ``pubsub`` extra) for a fresh venv, resolved against the package index like a user's
  install (pip's cache makes it quick) — marked slow;
- that it works once installed: the wheel installed ``--no-deps`` into a fresh venv, with
  this venv's site-packages behind it for the dependencies (the checkout itself is not
  on the path), importing every part of the package from the installed copy.
"""

from __future__ import annotations

import email.parser
import json
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "ak_salesforce_nb"
LABEXTENSION = "share/jupyter/labextensions/ak-salesforce-nb"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/ak_salesforce_nb.json"
#: Never needed at run time: test runners, the build and the stub generator.
BUILD_AND_TEST_ONLY = {"pytest", "grpcio-tools", "hatchling", "hatch-jupyter-builder"}


def _run(*command: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (SOURCE / "labextension" / "static" / "style.js").exists(), (
        "the JupyterLab extension is not built: run `make` (or jlpm build:prod in "
        "labextension/) before building the wheel"
    )
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "hatchling", "build", "--target", "wheel", "-d", dist)
    (built,) = dist.glob("ak_salesforce_nb-*.whl")
    return built


def _fresh_venv(folder: Path) -> Path:
    """A new venv without pip (this venv's pip installs into it with ``--python``)."""
    _run(sys.executable, "-m", "venv", "--without-pip", folder)
    return folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _pip(python: Path, *arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "--disable-pip-version-check",
        "--quiet",
        *arguments,
    )


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_wheel_holds_the_package_its_extension_config_and_generated_modules(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n) + "/data/"
    # Every file of the package (templates, the proto and its generated modules, py.typed).
    source = {
        p.relative_to(REPO).as_posix()
        for p in SOURCE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    packaged = {n for n in names if n.startswith("ak_salesforce_nb/")}
    assert source - packaged == set()
    assert packaged - source == set()
    for required in (
        "ak_salesforce_nb/py.typed",
        "ak_salesforce_nb/_pubsub_proto/pubsub_api.proto",
        "ak_salesforce_nb/_pubsub_proto/pubsub_api_pb2.py",
        "ak_salesforce_nb/_pubsub_proto/pubsub_api_pb2_grpc.py",
    ):
        assert required in names, required
    assert any(n.startswith("ak_salesforce_nb/server/templates/") for n in names)
    # The prebuilt JupyterLab extension and the file that enables the server extension.
    assert f"{data}{LABEXTENSION}/package.json" in names
    assert f"{data}{LABEXTENSION}/install.json" in names
    assert f"{data}{LABEXTENSION}/static/style.js" in names
    assert f"{data}{SERVER_CONFIG}" in names
    # Nothing left over from the old build hook.
    assert not {n for n in names if "/_generated/" in n}


def test_only_the_test_and_dev_extras_ask_for_test_or_build_tools(wheel: Path) -> None:
    metadata = _metadata(wheel)
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"test", "dev", "pubsub"} <= extras
    runtime = {canonicalize_name(r.name) for r in requirements if r.marker is None}
    assert {"jupyter-server", "tornado", "filelock"} <= runtime
    assert runtime & BUILD_AND_TEST_ONLY == set()
    assert runtime & {"grpcio", "protobuf"} == set()  # the pubsub extra's
    tools = [r for r in requirements if canonicalize_name(r.name) in BUILD_AND_TEST_ONLY]
    # hatchling: the tests build the wheel (and render the packaged template) themselves.
    assert {"pytest", "grpcio-tools"} <= {canonicalize_name(r.name) for r in tools}
    for requirement in tools:
        assert requirement.marker is not None
        asked_by = {extra for extra in extras if requirement.marker.evaluate({"extra": extra})}
        assert asked_by <= {"test", "dev"}, (requirement, asked_by)


@pytest.mark.slow
def test_installing_the_wheel_pulls_in_no_test_or_build_tool(wheel: Path, tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    report = tmp_path / "report.json"
    _pip(python, "install", "--dry-run", "--report", report, f"{wheel}[pubsub]")
    chosen = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert "ak-salesforce-nb" in chosen
    assert {"jupyter-server", "tornado", "pandas", "grpcio", "protobuf"} <= set(chosen)
    assert set(chosen) & BUILD_AND_TEST_ONLY == set(), sorted(chosen)


def test_the_installed_wheel_imports_from_its_own_copy(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = _fresh_venv(venv)
    _pip(python, "install", "--no-deps", "--no-index", wheel)
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    )
    # This venv's dependencies behind the fresh venv's own packages. A path line in a .pth
    # is not itself a site dir: the editable install's .pth there (the checkout) is not read.
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (purelib / "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    script = """
        import json, sys
        import ak_salesforce_nb as aksf
        from ak_salesforce_nb import emulator, pubsub
        from ak_salesforce_nb._pubsub_proto import protos
        from ak_salesforce_nb.kernel import _session
        from ak_salesforce_nb.server import _app
        assert protos().pb2.FetchRequest(num_requested=2).num_requested == 2
        assert aksf._jupyter_server_extension_points()[0]["module"] == "ak_salesforce_nb"
        print(json.dumps({
            "package": aksf.__file__,
            "repo_on_path": any(p in ("", ".") or p.rstrip("/") == REPO for p in sys.path),
        }))
    """
    # -I: no current directory (the checkout, when pytest runs from it) and no PYTHONPATH.
    found = json.loads(
        _run(python, "-I", "-c", textwrap.dedent(script).replace("REPO", repr(str(REPO)))).stdout
    )
    assert Path(found["package"]).is_relative_to(venv), found
    assert not found["repo_on_path"]
    # The console script, the server extension's config and the labextension landed.
    scripts = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('scripts'))").stdout.strip()
    )
    assert (scripts / "ak-salesforce-emulator").exists()
    assert json.loads((venv / SERVER_CONFIG).read_text()) == {
        "ServerApp": {"jpserver_extensions": {"ak_salesforce_nb": True}}
    }
    assert (venv / LABEXTENSION / "static" / "style.js").exists()
    help_text = _run(scripts / "ak-salesforce-emulator", "--help").stdout
    assert "--port" in help_text
