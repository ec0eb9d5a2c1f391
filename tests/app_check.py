"""Run the real app as a subprocess and check what a user would: a clean exit, a screenshot that shows
something, the settings saved, and no process of ours left behind (found by an environment marker that
every child inherits, however detached)."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil
from PySide6.QtGui import QImage

MARK = "ASGISCOPE_E2E_MARK"
ICON_WARNING = "window icon"  # gui/app.py logs "window icon <package>/<name> could not be loaded"


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


def assert_nothing_left(token: str, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while (left := marked(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, [(p.pid, p.name(), p.cmdline()[:4]) for p in left]


def clean_env() -> dict[str, str]:
    """This environment without PYTHONPATH/PYTHONHOME: what is imported comes from the install alone."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def run_app(
    app: Sequence[str],
    tmp_path: Path,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    quit_after: float = 8,
    timeout: float = 75,
) -> subprocess.CompletedProcess[str]:
    """Start the app (``app`` is the command, e.g. ``[python, "-m", "asgiscope"]``) with load on, let it
    take a screenshot and quit; check the exit, the screenshot, the saved settings and the cleanup.
    ``env`` adds to (or overrides) this environment."""
    token = secrets.token_hex(8)
    shot = tmp_path / "shot.png"
    settings = tmp_path / "settings.ini"
    full_env = {
        **clean_env(),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **(env or {}),
        MARK: token,
    }
    cmd = [*app, "--autostart", "--screenshot", str(shot), "--quit-after", str(quit_after)]
    cmd += ["--settings", str(settings)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - started

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert took < quit_after + 22, f"closing took too long: {took:.1f} s"

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1400, 900)
    colors = {image.pixel(x, y) for x in range(0, 1400, 7) for y in range(0, 900, 7)}
    assert len(colors) > 50, "the screenshot looks blank"

    assert_nothing_left(token)
    # the settings were written on the way out, so the next launch restores them
    assert "scenario" in settings.read_text()
    return proc
