"""Draining the master's pipes in the owner: its stderr (also the workers') and its event stream.

A thread per pipe, independent of the owner's event loop (plain asyncio, qasync, or none). Draining stderr
is not optional: once a pipe's 64 KiB fill up, every worker that logs would block.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from collections.abc import Callable

TAIL_LINES = 40


class PipeReader:
    """Reads a pipe line by line in a daemon thread, keeps a tail, and hands each line to ``on_line``."""

    def __init__(self, fd: int, name: str, on_line: Callable[[bytes], None] | None = None) -> None:
        self._fd = fd
        self._on_line = on_line
        self._tail: collections.deque[bytes] = collections.deque(maxlen=TAIL_LINES)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with os.fdopen(self._fd, "rb", buffering=0) as raw:
            pending = b""
            while chunk := raw.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._take(line)
            if pending:
                self._take(pending)

    def _take(self, line: bytes) -> None:
        with self._lock:
            self._tail.append(line)
        if self._on_line is not None:
            with contextlib.suppress(Exception):  # a faulty consumer must not stop the draining
                self._on_line(line)

    def tail(self) -> str:
        with self._lock:
            return "\n".join(line.decode(errors="replace") for line in self._tail)

    def join(self, timeout: float) -> None:
        """Wait for EOF (every process holding the write end gone), at most ``timeout`` s."""
        self._thread.join(timeout)
