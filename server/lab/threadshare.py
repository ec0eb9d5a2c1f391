"""Per-thread CPU shares of one worker over the last ~second, from its THREADS records.

Each record carries a thread's cumulative CPU time and when it was read, so a share is the CPU a thread
used between two of its own samples over the wall time between them: batching, late datagrams and a
lost one change nothing but which two samples are used.
"""

from __future__ import annotations

from collections import deque
from typing import Final

import numpy as np

from asgiscope.server.lab.snapshot import ThreadStats

NS: Final = 1e-9
SAMPLES_KEPT: Final = 32  # per thread: 8 s of samples at 4 a second
# A thread without a sample this long has ended (a worker samples at least every 2 s, probes.py).
STALE_S: Final = 5.0
MAX_THREADS: Final = 1_024  # per worker; more tids than any threadpool has: the oldest are dropped


class ThreadShares:
    """Samples in (``add``), shares out (``shares``); one per worker."""

    def __init__(self) -> None:
        self._samples: dict[int, deque[tuple[float, int]]] = {}  # tid → (t s, CPU ns), oldest first

    def add(self, records: np.ndarray) -> None:
        """Take records under ``THREADS_VIEW`` names (thread, t_ns, cpu_ns)."""
        for tid, t_ns, cpu_ns in zip(
            records["thread"].tolist(), records["t_ns"].tolist(), records["cpu_ns"].tolist(), strict=True
        ):
            samples = self._samples.get(tid)
            if samples is None:
                samples = self._samples[tid] = deque(maxlen=SAMPLES_KEPT)
                if len(self._samples) > MAX_THREADS:
                    del self._samples[next(iter(self._samples))]
            if samples and t_ns * NS <= samples[-1][0]:
                continue  # not newer than what is there: no time passed to share
            samples.append((t_ns * NS, cpu_ns))

    def shares(self, now: float, window_s: float) -> tuple[ThreadStats, ...]:
        """Each live thread's CPU over the last ``window_s`` (% of one core), busiest first. A thread
        seen once has no share yet and is left out; so is one that has not been seen for ``STALE_S``."""
        out: list[ThreadStats] = []
        for tid in [tid for tid, s in self._samples.items() if s[-1][0] < now - STALE_S]:
            del self._samples[tid]
        for tid, samples in self._samples.items():
            if len(samples) < 2:
                continue
            t1, c1 = samples[-1]
            t0, c0 = samples[0]
            for t, c in reversed(samples):  # the newest sample at least a window before the last
                if t <= t1 - window_s:
                    t0, c0 = t, c
                    break
            out.append(ThreadStats(tid, max(0.0, (c1 - c0) * NS / (t1 - t0) * 100.0)))
        out.sort(key=lambda s: -s.cpu_percent)
        return tuple(out)
