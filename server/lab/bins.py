"""Event counts in fixed time bins, so rates are computed from when things happened, not when the
numbers arrived (telemetry is batched up to 20 ms and longer while a worker's loop is blocked)."""

from __future__ import annotations

import numpy as np


class Bins:
    """A ring of counts over ``horizon_s`` in bins of ``width_s`` (times on the monotonic clock, s)."""

    def __init__(self, width_s: float = 0.1, horizon_s: float = 10.0) -> None:
        self.width_s = width_s
        self._n = round(horizon_s / width_s)
        self._counts = np.zeros(self._n, dtype=np.float64)
        self._newest = -1  # absolute index of the newest bin written or cleared
        self.total = 0.0

    def _advance(self, idx: int) -> None:
        if idx <= self._newest:
            return
        if self._newest < 0 or idx - self._newest >= self._n:
            self._counts[:] = 0.0
        else:
            for i in range(self._newest + 1, idx + 1):
                self._counts[i % self._n] = 0.0
        self._newest = idx

    def add(self, t: float, count: float = 1.0) -> None:
        self._add_to(int(t // self.width_s), count)

    def _add_to(self, idx: int, count: float) -> None:
        self._advance(idx)
        self.total += count
        if idx > self._newest - self._n:  # older than the horizon: counted in the total only
            self._counts[idx % self._n] += count

    def add_span(self, t0: float, t1: float, count: float) -> None:
        """Spread ``count`` events evenly over [t0, t1): a load report covers an interval, and
        dropping it whole into one bin makes a 1 s rate jitter by a tenth."""
        first, last = int(t0 // self.width_s), int(t1 // self.width_s)
        if t1 - t0 <= 0 or first == last:
            self._add_to(last, count)
            return
        for idx in range(first, last + 1):
            # By index, not by re-deriving it from a time: (idx * 0.1) // 0.1 is idx - 1 for about
            # half of all idx in floating point, which would shift the piece into the previous bin.
            lo = max(t0, idx * self.width_s)
            hi = min(t1, (idx + 1) * self.width_s)
            if hi > lo:
                self._add_to(idx, count * (hi - lo) / (t1 - t0))

    def add_many(self, times: np.ndarray) -> None:
        """Add one event at each of ``times`` (seconds)."""
        if times.size == 0:
            return
        idx = (times // self.width_s).astype(np.int64)
        self._advance(int(idx.max()))
        self.total += float(times.size)
        keep = idx > self._newest - self._n
        np.add.at(self._counts, idx[keep] % self._n, 1.0)

    def sum(self, now: float, window_s: float, lag_s: float = 0.0) -> float:
        """Events in the whole bins within [now - lag - window, now - lag)."""
        end = int((now - lag_s) // self.width_s)  # the bin containing now-lag is still filling
        self._advance(end)
        k = max(1, min(self._n - 1, round(window_s / self.width_s)))
        idx = np.arange(end - k, end) % self._n
        return float(self._counts[idx].sum())

    def rate(self, now: float, window_s: float, lag_s: float = 0.0) -> float:
        k = max(1, min(self._n - 1, round(window_s / self.width_s)))
        return self.sum(now, window_s, lag_s) / (k * self.width_s)
