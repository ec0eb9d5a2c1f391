"""CPU % and memory per process of the session, sampled with psutil at a modest rate.

psutil's ``cpu_percent(None)`` measures since the previous call on the *same* Process object, so the
objects are kept per pid; a pid that is gone is dropped quietly (workers die and get replaced).
Involuntary context switches (preemptions) per second tell a process that had to give up its core:
with more busy processes than cores that happens about once per request (bench/scaling.py). psutil
reads them from /proc/PID/status, the main thread's, which is where a worker serves requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class ProcSample:
    pid: int
    cpu_percent: float  # % of one core since the previous sample
    rss_mb: float
    preempted_per_s: float = 0.0  # involuntary context switches per second since the previous sample


class ProcSampler:
    def __init__(self, min_interval_s: float = 0.5) -> None:
        self.min_interval_s = min_interval_s
        self._procs: dict[int, psutil.Process] = {}
        self._last: dict[int, ProcSample] = {}
        self._switches: dict[int, tuple[float, int]] = {}  # pid: (when, involuntary switches then)
        self._at = 0.0

    def sample(self, pids: list[int], now: float | None = None) -> dict[int, ProcSample]:
        """Latest sample per pid; re-measures at most every ``min_interval_s``."""
        now = time.monotonic() if now is None else now
        if now - self._at < self.min_interval_s and all(p in self._last for p in pids):
            return {p: self._last[p] for p in pids}
        self._at = now
        out: dict[int, ProcSample] = {}
        for pid in pids:
            proc = self._procs.get(pid)
            try:
                if proc is None:
                    proc = self._procs[pid] = psutil.Process(pid)
                    proc.cpu_percent(None)  # primes the counter; the first reading is meaningless
                    cpu = 0.0
                else:
                    cpu = proc.cpu_percent(None)
                rss = proc.memory_info().rss / 1e6
                out[pid] = ProcSample(pid, cpu, rss, self._preempted(pid, proc, now))
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._procs.pop(pid, None)
                out[pid] = ProcSample(pid, 0.0, 0.0)
        for gone in set(self._procs) - set(pids):
            del self._procs[gone]
        for gone in set(self._switches) - set(self._procs):
            del self._switches[gone]
        self._last = out
        return dict(out)

    def _preempted(self, pid: int, proc: psutil.Process, now: float) -> float:
        count = proc.num_ctx_switches().involuntary
        before = self._switches.get(pid)
        self._switches[pid] = (now, count)
        if before is None or now <= before[0]:
            return 0.0
        return (count - before[1]) / (now - before[0])
