"""Frame timing of the render timer: how regularly the GUI repaints, and what a repaint costs.

The benchmark reads these to check the window stays smooth at the load ceiling; recording is two
``perf_counter`` calls per frame. Times are seconds since the clock was made.
"""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path

import numpy as np


class FrameClock:
    def __init__(self, keep: int = 50_000) -> None:
        self._t0 = time.perf_counter()
        # (seconds since start, interval since the previous frame ms, render ms)
        self.frames: deque[tuple[float, float, float]] = deque(maxlen=keep)
        self._last = 0.0
        self._began = 0.0

    def begin(self) -> None:
        self._began = time.perf_counter()

    def end(self) -> None:
        now = time.perf_counter()
        interval = (self._began - self._last) * 1000.0 if self._last else float("nan")
        self.frames.append((self._began - self._t0, interval, (now - self._began) * 1000.0))
        self._last = self._began

    def summary(self, since: float = 0.0) -> dict[str, float]:
        rows = np.array([f for f in self.frames if f[0] >= since and f[1] == f[1]], dtype=float)
        if not len(rows):
            return {"frames": 0.0}
        intervals, renders = rows[:, 1], rows[:, 2]
        return {
            "frames": float(len(rows)),
            "interval_p50_ms": float(np.percentile(intervals, 50)),
            "interval_p99_ms": float(np.percentile(intervals, 99)),
            "interval_max_ms": float(intervals.max()),
            "render_p50_ms": float(np.percentile(renders, 50)),
            "render_p99_ms": float(np.percentile(renders, 99)),
        }

    def write(self, path: str | Path) -> None:
        data = {"summary": self.summary(), "frames": [list(f) for f in self.frames]}
        Path(path).write_text(json.dumps(data) + "\n")
