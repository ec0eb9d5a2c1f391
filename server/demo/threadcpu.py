"""The CPU time of each thread of this worker, read in a thread of its own whenever the probe asks.

Why a thread: every file read releases the GIL, and taking it back from threads busy running Python
waits up to the switch interval (5 ms). A sample is a few dozen reads, so on the event loop it would
stall the loop ~100 ms under a CPU-bound load: the very thing it measures. Here only this reader
waits; the probe (on the loop) asks with ``request()`` and emits what ``take()`` hands back later,
so the emitter stays on the loop's thread. The reader's own thread is left out of the samples.

Sources, best first: Linux's ``/proc/self/task/<tid>/schedstat`` (nanoseconds on the CPU), its
``stat`` (clock ticks, 10 ms) where schedstat is missing, and psutil's ``Process.threads()`` elsewhere.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Final

TASKS: Final = "/proc/self/task"

# (native thread id, sample time ns (time.monotonic_ns), CPU ns the thread has used since it started)
Sample = tuple[int, int, int]
Reader = Callable[[int], list[Sample]]


def _read_proc(skip: int) -> list[Sample]:
    samples: list[Sample] = []
    ticks_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    for name in os.listdir(TASKS):
        tid = int(name)
        if tid == skip:
            continue
        try:
            with open(f"{TASKS}/{name}/schedstat", "rb") as f:
                cpu = int(f.read().split()[0])
        except FileNotFoundError:  # a kernel without schedstat, or the thread just ended
            try:
                with open(f"{TASKS}/{name}/stat", "rb") as f:
                    # after the command's closing parenthesis: utime and stime are fields 14 and 15
                    fields = f.read().rsplit(b")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) * ticks_ns
            except (FileNotFoundError, ProcessLookupError):
                continue  # the thread ended between the listing and the read
        except ProcessLookupError:
            continue
        samples.append((tid, time.monotonic_ns(), cpu))
    return samples


def _read_psutil(skip: int) -> list[Sample]:
    import psutil  # only where /proc is missing (macOS)

    now = time.monotonic_ns()
    return [
        (t.id, now, int((t.user_time + t.system_time) * 1e9))
        for t in psutil.Process().threads()
        if t.id != skip
    ]


def default_reader() -> Reader:
    return _read_proc if os.path.isdir(TASKS) else _read_psutil


class ThreadCpu:
    """``start()``, then ``request()`` a sample now and then and ``take()`` it once it is ready."""

    def __init__(self, read: Reader | None = None) -> None:
        self._read = read if read is not None else default_reader()
        self._wanted = threading.Event()
        self._stopping = False
        self._ready: list[Sample] | None = None  # handed over by one reference swap: no lock needed
        self._thread: threading.Thread | None = None
        self.cost_ns = 0  # CPU the last sample took to read (a few µs per thread)
        self.errors = 0  # samples that failed (counted, never raised into the worker)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="asgiscope-threadcpu", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the reader to end; it is a daemon thread, so nothing waits for it."""
        self._stopping = True
        self._wanted.set()
        self._thread = None

    def request(self) -> None:
        """Ask for a sample (no-op while one is being read)."""
        self._wanted.set()

    def take(self) -> list[Sample] | None:
        """The sample read since the last take, or None."""
        ready, self._ready = self._ready, None
        return ready

    def _run(self) -> None:
        me = threading.get_native_id()
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            before = time.thread_time_ns()
            try:
                self._ready = self._read(me)
                self.cost_ns = time.thread_time_ns() - before
            except Exception:  # a sample is worth less than a worker: count it, keep serving
                self.errors += 1
