"""Worker starts and exits, reported by the master to its owner as JSON lines on a private pipe.

Only the master knows why a worker started (first boot, scaling, replacing a dead one) and the exit status
it reaped, so it says so; the owner does not have to guess from pid churn. A dedicated pipe (not stdout)
keeps the app's own prints from corrupting the stream.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from typing import Literal, get_args

# "timeout": gunicorn's arbiter found no heartbeat within its timeout and sent the worker SIGABRT.
WorkerEventKind = Literal["start", "exit", "timeout"]
StartReason = Literal["boot", "scale", "replace"]


@dataclass(frozen=True, slots=True)
class WorkerEvent:
    kind: WorkerEventKind
    pid: int
    t: float  # time.monotonic() in the master: the clock is system-wide on Linux and macOS
    code: int | None = None  # exit only: status, or -signal
    # start: why it started; exit: "scale" when the master retired it on scaling down (not a death)
    reason: StartReason | None = None
    timeout_s: float | None = None  # timeout only: the arbiter's timeout

    def to_line(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> WorkerEvent | None:
        """The event on one line, or None for anything malformed (never trust a pipe blindly)."""
        try:
            data = json.loads(line)
            event = cls(**data)
        except (ValueError, TypeError):
            return None
        if event.kind not in get_args(WorkerEventKind) or not isinstance(event.pid, int):
            return None
        return event


class EventWriter:
    """Master side. Writes are tiny (< PIPE_BUF) so each line is atomic; a gone owner is ignored."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def _write(self, event: WorkerEvent) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, event.to_line())
        except OSError:
            self._fd = None  # the owner is gone; the lifeline takes care of the rest

    def started(self, pid: int | None, reason: StartReason) -> None:
        if pid is not None:
            self._write(WorkerEvent("start", pid, time.monotonic(), reason=reason))

    def exited(self, pid: int | None, code: int | None, reason: StartReason | None = None) -> None:
        if pid is not None:
            self._write(WorkerEvent("exit", pid, time.monotonic(), code=code, reason=reason))

    def timed_out(self, pid: int, timeout_s: float) -> None:
        self._write(WorkerEvent("timeout", pid, time.monotonic(), timeout_s=timeout_s))

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def describe_exit(code: int | None) -> str:
    """An exit status in words: "exit code 1", "killed by SIGKILL", "exit status unknown"."""
    if code is None:
        return "exit status unknown"
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"
