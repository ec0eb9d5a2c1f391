"""One interval's tally of a load process, closed into a LoadReport every 100 ms.

Everything runs on the load process's single event loop, so plain counters need no lock.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from asgiscope.server.load import hist
from asgiscope.server.load.errors import ErrorKind, status_error
from asgiscope.server.load.sched import runqueue_wait_s
from asgiscope.server.load.spec import LoadReport


class Recorder:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
        wait_clock: Callable[[], float | None] = runqueue_wait_s,
    ) -> None:
        self._clock = clock
        # process_time() is this process's user+system CPU: one call per report, far cheaper than psutil.
        self._cpu_clock = cpu_clock
        self._wait_clock = wait_clock
        self.in_flight = 0
        # One histogram, reset after each report: a new one per 100 ms interval is garbage only the
        # cyclic collector frees (HdrHistogram and its encoder point at each other), late.
        self._hist = hist.new_histogram()
        self._start = clock()
        self._cpu_start = cpu_clock()
        self._wait_start = wait_clock()
        self._reset()

    def _reset(self) -> None:
        hist.clear(self._hist)
        self._completed = 0
        self._ok = 0
        self._sent = 0
        self._overflow = 0
        self._intended = 0
        self._errors: Counter[str] = Counter()

    def intended(self) -> None:
        self._intended += 1

    def overflow(self) -> None:
        self._overflow += 1

    def sent(self) -> None:
        self._sent += 1
        self.in_flight += 1

    def response(self, status: int, latency_s: float) -> None:
        """A full response arrived; ``latency_s`` runs from the (intended) send time to the last byte."""
        self.in_flight -= 1
        self._completed += 1
        if 200 <= status < 300:
            self._ok += 1
        else:
            kind = status_error(status)
            if kind is not None:
                self._errors[kind] += 1
        hist.record_us(self._hist, round(latency_s * 1_000_000))

    def failure(self, kind: ErrorKind) -> None:
        """No response: the request failed in transport (no latency is recorded for it)."""
        self.in_flight -= 1
        self._errors[kind] += 1

    def cancelled(self) -> None:
        self.in_flight -= 1

    def report(self, users: int) -> LoadReport:
        """Close the interval: counts since the previous report, then start a new one."""
        now, cpu, wait = self._clock(), self._cpu_clock(), self._wait_clock()
        wall = max(now - self._start, 1e-9)
        # A thread that ended takes its wait out of the sum: never report less than nothing.
        waited = (
            max(0.0, wait - self._wait_start) if wait is not None and self._wait_start is not None else 0.0
        )
        result = LoadReport(
            t=now,
            interval_s=wall,
            completed=self._completed,
            ok=self._ok,
            errors=dict(self._errors),
            histogram=hist.encode(self._hist) if self._completed else "",
            in_flight=self.in_flight,
            sent=self._sent,
            overflow=self._overflow,
            intended=self._intended,
            cpu_percent=round((cpu - self._cpu_start) / wall * 100.0, 1),
            wait_percent=round(waited / wall * 100.0, 1),
            users=users,
        )
        self._start, self._cpu_start, self._wait_start = now, cpu, wait
        self._reset()
        return result
