"""One import name, `asgiscope`, and a wheel that works (issue 7).

A user's FastAPI project often has its own ``server/`` package; ``python -m`` puts the current folder first
on ``sys.path``, so any ``import server`` (ours or a child's) would pick theirs. The folder these tests run
from holds a ``server`` and a ``gui`` package that raise on import.

The wheel tests build ``pip wheel .`` once per session, install it (not editable) into a fresh venv that
borrows the project venv's dependencies, and run it from a temporary folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.app_check import ICON_WARNING, clean_env, run_app

ROOT = Path(__file__).resolve().parents[1]
QUICK_RUN = ["run", "--duration", "2", "--warmup", "0", "--json", "--port", "0", "--workers", "1"]
# what setuptools would otherwise copy from the working tree into the build
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "out")


@pytest.fixture
def foreign_folder(tmp_path: Path) -> Path:
    """A folder like a user's project: its own ``server`` and ``gui`` packages, which must never load."""
    folder = tmp_path / "project"
    for name in ("server", "gui"):
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(
            f"raise ImportError('the current folder\\'s {name} was imported, not asgiscope.{name}')\n"
        )
    return folder


def check_run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["measured"]["throughput_rps"] > 0
    assert result["measured"]["errors"] == 0


def test_run_ignores_the_current_folders_server_and_gui(foreign_folder: Path) -> None:
    check_run([sys.executable, "-m", "asgiscope", *QUICK_RUN], foreign_folder)


@pytest.mark.timeout(90)
def test_app_ignores_the_current_folders_server_and_gui(foreign_folder: Path, tmp_path: Path) -> None:
    proc = run_app([sys.executable, "-m", "asgiscope"], tmp_path, cwd=foreign_folder)
    assert ICON_WARNING not in proc.stderr, proc.stderr[-3000:]


# --- the wheel --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools builds in the source folder and would leave (or reuse) build/lib there.
    src = tmp_path_factory.mktemp("src") / "asgiscope"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q"]
    proc = subprocess.run([*cmd, "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("asgiscope-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable) and the project venv's dependencies."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q"]
    proc = subprocess.run(
        [*install, "--disable-pip-version-check", str(wheel)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # A plain path line adds the dependencies' folder to sys.path, after the venv's own site-packages;
    # it does not run that folder's .pth files, so the editable install's finder stays out.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


@pytest.mark.slow
def test_the_wheel_holds_one_top_level_name_and_the_icon(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert z.read(top_level).decode().split() == ["asgiscope"]
    assert "asgiscope/assets/asgiscope.svg" in names
    assert "asgiscope/assets/tours/why_fastapi_is_fast.toml" in names  # asgiscope tour's built-in tour
    assert {"asgiscope/__main__.py", "asgiscope/server/__init__.py", "asgiscope/gui/app.py"} <= set(names)
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"asgiscope"}


@pytest.mark.slow
def test_the_wheel_is_what_the_venv_imports(wheel_venv: Path, tmp_path: Path) -> None:
    code = (
        "import asgiscope, asgiscope.server, asgiscope.gui, sys;"
        "print(asgiscope.__file__, asgiscope.server.__file__, asgiscope.gui.__file__, asgiscope.__version__);"
        "print(any('__editable__' in repr(f) for f in sys.meta_path))"
    )
    proc = subprocess.run(
        [wheel_venv / "bin" / "python", "-c", code],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    files, editable_finder = proc.stdout.splitlines()
    *paths, version = files.split()
    for path in paths:
        assert Path(path).is_relative_to(wheel_venv), path
    assert version != "0+unknown"
    assert editable_finder == "False"


@pytest.mark.slow
def test_the_wheel_runs_headless_from_a_foreign_folder(wheel_venv: Path, foreign_folder: Path) -> None:
    check_run([str(wheel_venv / "bin" / "asgiscope"), *QUICK_RUN], foreign_folder)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_wheel_runs_the_app_with_its_icon(wheel_venv: Path, foreign_folder: Path, tmp_path: Path) -> None:
    proc = run_app([str(wheel_venv / "bin" / "asgiscope")], tmp_path, cwd=foreign_folder)
    assert ICON_WARNING not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.slow
def test_the_wheel_carries_the_built_in_tour(wheel_venv: Path, tmp_path: Path) -> None:
    code = "from asgiscope.server.tour import load_builtin; t = load_builtin(); print(len(t.steps), t.title)"
    proc = subprocess.run(
        [wheel_venv / "bin" / "python", "-c", code],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps, title = proc.stdout.split(maxsplit=1)
    assert int(steps) >= 8 and title.strip() == "Why FastAPI is fast, measured"
