"""The console script: headless tools never import Qt; anything else opens the app."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

import asgiscope.gui.main
from asgiscope.gui.cli import overrides, parse


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


def test_flags_override_controls() -> None:
    args = parse(["--autostart", "--workers", "3", "--handler", "threadpool", "--rate", "250"])
    assert args.autostart and args.screenshot is None
    assert overrides(args) == {"workers": 3, "handler": "threadpool", "rate": 250.0}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--handler", "sync"],
            "argument --handler: invalid choice: 'sync' (choose from 'await', 'threadpool'",
        ),
        (["--server", "hypercorn"], "argument --server: invalid choice: 'hypercorn'"),
        (["--workers", "two"], "argument --workers: invalid int value: 'two'"),
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
