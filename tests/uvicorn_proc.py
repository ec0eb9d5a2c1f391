"""Test helper: one demo server as a plain ``python -m uvicorn`` subprocess (not the launcher).

The telemetry tests need a real worker and nothing more; the launcher is tested on its own. The
process gets its own session so that killing its group leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from asgiscope.server.demo.config import WorkerConfig

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/hello", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    # Whatever is left of the group (a gunicorn worker, say) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def uvicorn_cmd(port: int, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "asgiscope.server.demo.app:app_factory",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "2",
        *extra,
    ]


@contextlib.contextmanager
def run_server(
    config: WorkerConfig,
    cmd: Sequence[str] | None = None,
    *,
    port: int | None = None,
    stdout: Path | None = None,
) -> Iterator[Server]:
    """Start the demo app (``uvicorn_cmd`` unless ``cmd`` is given), wait until it answers, and kill
    its whole process group on exit, whatever happens. ``stdout`` (uvicorn's access log) goes to that
    file when given."""
    port = free_port() if port is None else port
    argv = list(cmd) if cmd is not None else uvicorn_cmd(port)
    env = {**os.environ, **config.to_env()}
    with tempfile.TemporaryFile() as stderr, contextlib.ExitStack() as files:
        out = files.enter_context(stdout.open("w")) if stdout is not None else subprocess.DEVNULL
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=stderr, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while not _answers(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    stderr.seek(0)
                    tail = stderr.read()[-3000:].decode(errors="replace")
                    raise RuntimeError(f"demo server did not come up ({proc.poll()=}):\n{tail}")
                time.sleep(0.05)
            yield Server(url=url, pid=proc.pid)
        finally:
            _kill_group(proc)
