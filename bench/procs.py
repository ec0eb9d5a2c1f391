"""Ending the processes a bench started: by the handle it holds, never by a command-line pattern."""

from __future__ import annotations

import subprocess
from typing import Any


def reap(proc: subprocess.Popen[Any]) -> None:
    """Kill ``proc`` if it still runs (an error or a time-out on the way out) and reap it. The app's
    servers and load processes die with it (server/lifeline.py)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
