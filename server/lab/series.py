"""Scrolling time series for the plots: fixed scalars plus keyed families (per process, per worker)
that come and go. Every array shares the time axis; a key absent at a sample gets NaN, which the plots
draw as a gap, and a key whose values have all aged out is dropped."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from asgiscope.server.lab.snapshot import Series
from asgiscope.server.limits import SERIES_HISTORY_S

SCALARS = ("client_rps", "server_rps", "predicted_rps", "p50_ms", "p99_ms")


class _Family[K]:
    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen
        self.rows: dict[K, deque[float]] = {}

    def append(self, length_before: int, values: dict[K, float]) -> None:
        for key in values.keys() - self.rows.keys():
            self.rows[key] = deque([math.nan] * min(length_before, self.maxlen), maxlen=self.maxlen)
        for key, row in list(self.rows.items()):
            row.append(values.get(key, math.nan))
            if key not in values and all(math.isnan(v) for v in row):
                del self.rows[key]

    def arrays(self) -> dict[K, np.ndarray]:
        return {k: np.fromiter(v, dtype=np.float64, count=len(v)) for k, v in self.rows.items()}


class SeriesRecorder:
    def __init__(self, history_s: float = SERIES_HISTORY_S, hz: float = 10.0) -> None:
        self.period_s = 1.0 / hz
        maxlen = int(history_s * hz)
        self._t: deque[float] = deque(maxlen=maxlen)
        self._scalars = {name: deque[float](maxlen=maxlen) for name in SCALARS}
        self._cpu: _Family[str] = _Family(maxlen)
        self._lag: _Family[int] = _Family(maxlen)
        self._cached: Series | None = None

    def due(self, t: float) -> bool:
        return not self._t or t - self._t[-1] >= self.period_s * 0.95

    def record(
        self, t: float, scalars: dict[str, float], cpu: dict[str, float], lag_ms: dict[int, float]
    ) -> None:
        n = len(self._t)
        self._t.append(t)
        for name, row in self._scalars.items():
            row.append(scalars.get(name, math.nan))
        self._cpu.append(n, cpu)
        self._lag.append(n, lag_ms)
        self._cached = None

    def series(self) -> Series:
        # Built at most once per recorded sample: snapshots between samples share it.
        if self._cached is None:
            arr = {k: np.fromiter(v, dtype=np.float64, count=len(v)) for k, v in self._scalars.items()}
            self._cached = Series(
                t=np.fromiter(self._t, dtype=np.float64, count=len(self._t)),
                client_rps=arr["client_rps"],
                server_rps=arr["server_rps"],
                predicted_rps=arr["predicted_rps"],
                p50_ms=arr["p50_ms"],
                p99_ms=arr["p99_ms"],
                cpu=self._cpu.arrays(),
                loop_lag_ms=self._lag.arrays(),
            )
        return self._cached
