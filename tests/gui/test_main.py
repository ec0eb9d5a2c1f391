"""The console script: headless tools never import Qt; anything else opens the app."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

import asgiscope.gui.main
from asgiscope.gui.cli import overrides, parse, priority
from asgiscope.server.limits import NotAllowedError, one_of
from asgiscope.server.priority import BELOW_WINDOW, SAME, WINDOW_FIRST
from asgiscope.server.scenario import LoopKind


@pytest.mark.parametrize(
    ("tool", "module"), [("serve", "asgiscope.server.serve"), ("run", "asgiscope.server.cli_run")]
)
def test_headless_tools_get_the_rest_of_argv(monkeypatch: pytest.MonkeyPatch, tool: str, module: str) -> None:
    seen: list[object] = []

    def fake_import(name: str) -> SimpleNamespace:
        seen.append(name)
        return SimpleNamespace(main=lambda argv: seen.append(argv) or 3)

    monkeypatch.setattr(asgiscope.gui.main.importlib, "import_module", fake_import)
    monkeypatch.setattr(sys, "argv", ["asgiscope", tool, "--workers", "2"])
    with pytest.raises(SystemExit) as exit_:
        asgiscope.gui.main.main()
    assert exit_.value.code == 3
    assert seen == [module, ["--workers", "2"]]


def test_the_headless_path_imports_no_qt() -> None:
    code = (
        "import sys, gui.main, gui.cli, gui.model; print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_app_starts_servers_and_load_below_its_window_unless_asked() -> None:
    assert priority(parse([], cores=2)) == BELOW_WINDOW
    assert priority(parse(["--same-priority"], cores=2)) == SAME
    assert priority(parse(["--window-first"], cores=2)) == WINDOW_FIRST


def test_flags_override_controls() -> None:
    args = parse(["--autostart", "--workers", "3", "--handler", "threadpool", "--rate", "250"], cores=2)
    assert args.autostart and args.screenshot is None
    assert overrides(args) == {"workers": 3, "handler": "threadpool", "rate": 250.0}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--handler", "sync"],
            "asgiscope: error: --handler='sync' is not allowed: "
            "handler must be one of 'await', 'threadpool', 'blocking'\n",
        ),
        (
            ["--server", "hypercorn"],
            "--server='hypercorn' is not allowed: server must be one of 'uvicorn', 'gunicorn'\n",
        ),
        (["--workers", "two"], "--workers='two' is not allowed: workers must be a whole number from 1 to "),
        (["--fps", "0"], "--fps=0.0 is not allowed: fps must be a number from 1 to 240"),
    ],
)
def test_a_bad_flag_is_refused_with_the_choices_before_anything_starts(argv: list[str], needle: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asgiscope", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_gui_and_the_headless_tools_refuse_a_value_in_one_sentence() -> None:
    """`asgiscope`, `asgiscope serve` and `asgiscope run` print the same sentence for the same fact."""
    sentence = NotAllowedError("loop", "trio", one_of(LoopKind)).as_flag()
    assert sentence == "--loop='trio' is not allowed: loop must be one of 'asyncio', 'uvloop'"
    for tool in ([], ["serve"], ["run"]):
        proc = subprocess.run(
            [sys.executable, "-m", "asgiscope", *tool, "--loop", "trio"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 2, tool
        assert proc.stderr.splitlines()[-1].endswith(f": error: {sentence}"), proc.stderr
        assert proc.stdout == ""


@pytest.mark.parametrize(("cores", "most"), [(1, 32), (2, 32), (64, 32)])  # the server limit, any machine
def test_the_workers_flag_allows_what_the_slider_shows(
    cores: int, most: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse(["--workers", str(most)], cores=cores).workers == most
    with pytest.raises(SystemExit) as exit_:
        parse(["--workers", str(most + 1)], cores=cores)
    assert exit_.value.code == 2
    assert f"--workers={most + 1} is not allowed: workers must be a whole number from 1 to {most}\n" in (
        capsys.readouterr().err
    )
