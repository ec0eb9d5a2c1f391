"""CPU % and memory per process of the session, sampled with psutil at a modest rate.

psutil's ``cpu_percent(None)`` measures since the previous call on the *same* Process object, so the
objects are kept per pid; a pid that is gone is dropped quietly (workers die and get replaced).
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


class ProcSampler:
    def __init__(self, min_interval_s: float = 0.5) -> None:
        self.min_interval_s = min_interval_s
        self._procs: dict[int, psutil.Process] = {}
        self._last: dict[int, ProcSample] = {}
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
                out[pid] = ProcSample(pid, cpu, rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._procs.pop(pid, None)
                out[pid] = ProcSample(pid, 0.0, 0.0)
        for gone in set(self._procs) - set(pids):
            del self._procs[gone]
        self._last = out
        return dict(out)
