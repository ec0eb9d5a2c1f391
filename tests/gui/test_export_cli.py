"""``asgiscope export``: a real scenario run offscreen, the requested panel written as a picture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from asgiscope.gui.export_cli import parse
from asgiscope.gui.theme import Colors


def export(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgiscope", "export", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--panel", "table"], "--panel='table'"),
        (["--format", "png,bmp"], "--format='png,bmp'"),
        (["--format", "png,png"], "--format='png,png'"),
        (["--duration", "0"], "--duration=0"),
        (["--workers", "99"], "--workers=99"),
        (["--scale", "4"], "--scale=4"),
        (["--size", "800x600"], "--size='800x600'"),
        (["--theme", "sepia"], "--theme='sepia'"),
        (["--format", "gif", "--duration", "2", "--clip", "5"], "--clip=5"),
        (["--tour", "no-such-tour.toml"], "no-such-tour.toml"),
    ],
)
def test_bad_flags_exit_2_in_one_sentence_and_write_nothing(
    tmp_path: Path, flags: list[str], named: str
) -> None:
    out = export("--out", str(tmp_path), *flags)
    assert out.returncode == 2, out.stderr
    assert named in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_output_folder_must_be_writable(tmp_path: Path) -> None:
    out = export("--out", str(tmp_path / "no" / "such"))
    assert out.returncode == 2 and "--out=" in out.stderr


def test_parsing_reuses_run_s_scenario_and_load_flags(tmp_path: Path) -> None:
    args = parse(["--out", str(tmp_path), "--workers", "3", "--endpoint", "io/sync", "--rate", "50"])
    (shot,) = args.shots
    assert shot.scenario.workers == 3 and shot.load.endpoint == "io/sync" and shot.load.mode == "open"
    assert args.path == tmp_path / "flow.png"


def test_exports_the_flow_panel_of_a_real_run(tmp_path: Path) -> None:
    out = export(
        "--panel", "flow", "--format", "png", "--duration", "3", "--out", str(tmp_path / "pics"),
        "--width", "1280", "--height", "720",
        "--workers", "2", "--tokens", "4", "--endpoint", "io/sync", "--ms", "100", "--users", "20",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    path = tmp_path / "pics" / "flow.png"
    assert out.stdout.strip() == str(path)
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1280, 720)
    # not blank: the panel's own colours are in it, the full threadpools' above all
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 720, 7)}
    assert len(colours) > 20
    assert QColor(Colors().server).rgb() in colours


def test_parsing_imports_no_qt() -> None:
    code = (
        "import sys; from asgiscope.gui.export_cli import parse; parse(['--out', '.']); "
        "print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
