"""`asgiscope serve` as a subprocess for tests: started, its banner read, killed if a test leaves it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Serve:
    proc: subprocess.Popen[str]
    url: str
    master: int
    workers: list[int]


@contextmanager
def serve(*args: str) -> Iterator[Serve]:
    """Run ``asgiscope serve --port 0 ARGS`` and read its three banner lines (URL, master, workers)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "asgiscope.server.serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0])
        assert url, lines
        master = int(lines[1].removeprefix("master pid "))
        workers = [int(p) for p in lines[2].removeprefix("worker pids ").split()]
        yield Serve(proc, url.group(), master, workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
