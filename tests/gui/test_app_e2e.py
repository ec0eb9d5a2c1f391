"""The real app, end to end: a subprocess, offscreen, real servers and load, a screenshot, a clean exit."""

from __future__ import annotations

import os
import secrets
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_check import MARK, assert_nothing_left, marked, run_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_app_runs_load_saves_a_screenshot_and_leaves_nothing(tmp_path: Path) -> None:
    run_app([sys.executable, "-m", "asgiscope"], tmp_path, cwd=ROOT)


@pytest.fixture
def x_display() -> Iterator[str]:
    """A real X server of our own (Xvfb on a display number it picks free), stopped by pid at the end."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Xvfb is not installed: CI must run the app on a real X server (.ci/run installs xvfb)"
            )
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb)")
    read_end, write_end = os.pipe()
    # -displayfd: Xvfb takes the first free display number and writes it there once it accepts clients
    cmd = [xvfb, "-displayfd", str(write_end), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"]
    server = subprocess.Popen(cmd, pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as announced:
            ready, _, _ = select.select([announced], [], [], 20)
            number = announced.readline().strip() if ready else ""
        assert number.isdigit(), f"Xvfb did not start: {server.stderr.read() if server.stderr else ''}"
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.timeout(90)
def test_app_runs_on_a_real_x_server(tmp_path: Path, x_display: str) -> None:
    # The xcb platform plugin needs system libraries that offscreen does not (issue 7): run through it.
    proc = run_app(
        [sys.executable, "-m", "asgiscope"],
        tmp_path,
        cwd=ROOT,
        env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": x_display},
    )
    assert "qt.qpa" not in proc.stderr, proc.stderr[-3000:]


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
    assert_nothing_left(token)


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
    assert_nothing_left(token)
