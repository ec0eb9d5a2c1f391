"""Client latency percentiles from the load processes' HdrHistograms, merged exactly.

Averaging percentiles is wrong; merging histograms is right. hdrh's own percentile lookup walks
17k buckets in Python (~1 ms each), so counts are summed and searched with numpy instead.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from hdrh.codec import HdrHistogramEncoder

from asgiscope.server.lab.snapshot import Latency
from asgiscope.server.load.hist import HIGHEST_US, LOWEST_US, SIGNIFICANT_DIGITS, new_histogram

# Reports kept for the window: ten processes' reports (10 a second each) over 20 s, far more than a
# 1.5 s window holds; a bound in case nobody asks for the window for a while.
MAX_RECENT = 2000


def decode_counts(text: str, counts_len: int) -> np.ndarray:
    """A report's bucket counts (int64, ``counts_len`` long), without building an HdrHistogram.

    An HdrHistogram and its encoder point at each other, so every decoded one is freed only by the
    cyclic garbage collector, late: 10 reports a second of ~64 KiB counts each kept the Lab
    process's memory growing for minutes (bench/soak.py, tracemalloc). The payload alone is no cycle.
    It lives here, not in load/hist.py, so the load process need not import numpy.
    """
    payload = HdrHistogramEncoder.decode(text.encode("ascii"))
    header = payload.payload
    if (header.lowest_trackable_value, header.highest_trackable_value, header.significant_figures) != (
        LOWEST_US,
        HIGHEST_US,
        SIGNIFICANT_DIGITS,
    ):
        raise ValueError("a latency histogram with another bucket layout")
    payload.init_counts(counts_len)
    return np.ctypeslib.as_array(payload.counts).astype(np.int64)


class LatencyWindow:
    """Sliding window (by report time) plus a running total of latency counts."""

    def __init__(self, window_s: float = 1.5) -> None:
        self.window_s = window_s
        proto = new_histogram()
        self._len = proto.counts_len
        self._values_ms = (
            np.array(
                [proto.get_highest_equivalent_value(proto.get_value_from_index(i)) for i in range(self._len)],
                dtype=np.float64,
            )
            / 1000.0
        )
        # (report time, indices of non-empty buckets, their counts): a report fills a few hundred of
        # the 17k buckets, so a dense copy (139 KB) per report would be mostly zeros
        self._recent: deque[tuple[float, np.ndarray, np.ndarray]] = deque(maxlen=MAX_RECENT)
        self._total = np.zeros(self._len, dtype=np.int64)

    def reset(self) -> None:
        self._recent.clear()
        self._total[:] = 0

    def add_encoded(self, t: float, encoded: str) -> None:
        if not encoded:
            return
        counts = decode_counts(encoded, self._len)
        nonzero = np.flatnonzero(counts)
        if not nonzero.size:
            return
        self._recent.append((t, nonzero, counts[nonzero]))
        self._total += counts

    def _percentiles(self, counts: np.ndarray) -> Latency:
        total = int(counts.sum())
        if total == 0:
            return Latency()
        cum = np.cumsum(counts)
        targets = np.ceil(np.array([0.50, 0.90, 0.99]) * total).astype(np.int64)
        idx = np.searchsorted(cum, np.maximum(targets, 1))
        nz = np.flatnonzero(counts)
        p50, p90, p99 = (float(v) for v in self._values_ms[idx])
        return Latency(p50, p90, p99, float(self._values_ms[nz[-1]]), total)

    def window(self, now: float) -> Latency:
        while self._recent and self._recent[0][0] < now - self.window_s:
            self._recent.popleft()
        if not self._recent:
            return Latency()
        where = np.concatenate([i for _, i, _ in self._recent])
        counts = np.concatenate([c for _, _, c in self._recent])
        return self._percentiles(np.bincount(where, weights=counts, minlength=self._len).astype(np.int64))

    def total(self) -> Latency:
        return self._percentiles(self._total)
