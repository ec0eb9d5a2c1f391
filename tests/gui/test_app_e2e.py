"""The real app, end to end: a subprocess, offscreen, real servers and load, a screenshot, a clean exit."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
MARK = "ASGISCOPE_E2E_MARK"


def marked(token: str) -> list[psutil.Process]:
    """Processes that inherited our marker: the app and everything it started, however detached."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARK) == token:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.mark.timeout(90)
def test_app_runs_load_saves_a_screenshot_and_leaves_nothing(tmp_path: Path) -> None:
    token = secrets.token_hex(8)
    shot = tmp_path / "shot.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        MARK: token,
    }
    cmd = [sys.executable, "-m", "asgiscope", "--autostart", "--screenshot", str(shot), "--quit-after", "8"]
    cmd += ["--settings", str(tmp_path / "settings.ini")]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=75)
    took = time.monotonic() - started

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert took < 30, f"closing took too long: {took:.1f} s"

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1400, 900)
    colors = {image.pixel(x, y) for x in range(0, 1400, 7) for y in range(0, 900, 7)}
    assert len(colors) > 50, "the screenshot looks blank"

    deadline = time.monotonic() + 3.0
    while (left := marked(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, [(p.pid, p.name(), p.cmdline()[:4]) for p in left]
    # the settings were written on the way out, so the next launch restores them
    assert "scenario" in (tmp_path / "settings.ini").read_text()


@pytest.mark.timeout(90)
def test_sigterm_closes_the_app_cleanly(tmp_path: Path) -> None:
    token = secrets.token_hex(8)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", MARK: token}
    cmd = [sys.executable, "-m", "asgiscope", "--autostart", "--settings", str(tmp_path / "s.ini")]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        # wait until the servers and the load generator are up: the app has children
        while len(marked(token)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(marked(token)) >= 4
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    deadline = time.monotonic() + 3.0
    while (left := marked(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, [(p.pid, p.name(), p.cmdline()[:4]) for p in left]


@pytest.mark.timeout(90)
def test_a_sigkilled_app_leaves_nothing_within_3_s(tmp_path: Path) -> None:
    # No chance to clean up: the lifelines (parent-death pipe, parent polling, stdin EOF) must do it.
    token = secrets.token_hex(8)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", MARK: token}
    cmd = [sys.executable, "-m", "asgiscope", "--autostart", "--settings", str(tmp_path / "s.ini")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while len(marked(token)) < 5 and time.monotonic() < deadline:  # app, master, 2 workers, load
            time.sleep(0.2)
        assert len(marked(token)) >= 5
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 3.0
    while (left := marked(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, [(p.pid, p.name(), p.cmdline()[:4]) for p in left]
