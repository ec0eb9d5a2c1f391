"""The cores the machine's other processes use: all busy CPU time minus the session's (the server
tree, the load generator, and of the Lab's own process what its collecting costs, which the theory
counts per request; the rest of that process, in the app the window's drawing (3 % of a core idle,
17-26 % at the load ceiling, docs/benchmarks.md), takes cores from the servers like any other).

The prediction counts them (theory.predict's ``others``): on a shared machine a core another program
keeps busy is not one the servers can use, and a prediction that assumed every core was ours would
blame the servers for it. Measured over a few seconds and rounded, so one burst neither swings the
prediction nor invalidates its cache on every tick.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping

import psutil

WINDOW_S = 3.0
STEP = 0.05  # cores: the prediction moves in steps of this (2.5 % of 2 cores)


def busy_cpu_seconds() -> float:
    """CPU seconds every core has spent busy since boot (idle and I/O wait excluded; steal included:
    the hypervisor's other guests take those cores too)."""
    t = psutil.cpu_times()
    return (
        sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
    )


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` have spent; one that is gone counts 0."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            continue
    return total


class Accrual:
    """CPU seconds a changing set of processes spent while watched: a pid counts from when it was first
    seen (its CPU before that is in no window we compare), and one no longer given is dropped."""

    def __init__(self) -> None:
        self.total = 0.0
        self.last: dict[int, float] = {}  # per pid: its CPU seconds when last given

    def add(self, totals: Mapping[int, float]) -> float:
        """``totals``: CPU seconds per pid now; returns the running total."""
        for pid, t in totals.items():
            self.total += t - self.last.get(pid, t)
        self.last = dict(totals)
        return self.total


class OthersMeter:
    def __init__(self, cores: int, window_s: float = WINDOW_S, min_interval_s: float = 0.5) -> None:
        self._cores = cores
        self._window_s = window_s
        self._min_interval_s = min_interval_s
        self._procs: dict[int, psutil.Process] = {}
        self._ours = Accrual()  # our CPU seconds, summed as the pids' counters advanced
        self._me = psutil.Process(os.getpid())
        self._samples: deque[tuple[float, float, float, float]] = deque()  # (t, system busy, ours, own)
        self._cores_used = 0.0
        self.measured_at = -1.0  # when ``cpu_totals`` were read (the ``now`` of that sample)

    @property
    def cpu_totals(self) -> Mapping[int, float]:
        """CPU seconds of each of the session's processes when last measured (psutil user + system)."""
        return self._ours.last

    def sample(
        self, pids: list[int], now: float | None = None, own_counted: Callable[[], float] | None = None
    ) -> float:
        """Cores others used over the last window, in steps of ``STEP``; re-measures every so often.
        ``pids``: the session's processes, not this one; ``own_counted``: the cores of this process's
        work that the theory counts already (collecting telemetry), asked only when re-measuring; the
        rest of this process counts as others."""
        now = time.monotonic() if now is None else now
        if self._samples and now - self._samples[-1][0] < self._min_interval_s:
            return self._cores_used
        totals: dict[int, float] = {}
        for pid in pids:
            try:
                proc = self._procs.get(pid) or self._procs.setdefault(pid, psutil.Process(pid))
                t = proc.cpu_times()
                totals[pid] = t.user + t.system
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._procs.pop(pid, None)
        for gone in set(self._procs) - set(pids):
            del self._procs[gone]
        counted = self._ours.add(totals)
        self.measured_at = now
        own = self._me.cpu_times()
        self._samples.append((now, busy_cpu_seconds(), counted, own.user + own.system))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_s:
            self._samples.popleft()
        t0, sys0, ours0, own0 = self._samples[0]
        if now - t0 > 0:
            own_cores = (self._samples[-1][3] - own0) / (now - t0)
            theirs = own_counted() if own_counted is not None else 0.0
            ours = (counted - ours0) / (now - t0) + min(own_cores, max(theirs, 0.0))
            raw = (self._samples[-1][1] - sys0) / (now - t0) - ours
            self._cores_used = round(min(max(raw, 0.0), self._cores) / STEP) * STEP
        return self._cores_used
