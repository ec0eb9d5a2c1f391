"""Frame timing of the render timer: how regularly the GUI repaints, and what a repaint costs.

The benchmark reads these to check the window stays smooth at the load ceiling; recording is two
``perf_counter`` calls per frame.
"""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path

import numpy as np


class FrameClock:
    def __init__(self, keep: int = 20_000) -> None:
        self.intervals_ms: deque[float] = deque(maxlen=keep)
        self.render_ms: deque[float] = deque(maxlen=keep)
        self._last = 0.0
        self._began = 0.0

    def begin(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.intervals_ms.append((now - self._last) * 1000.0)
        self._last = now
        self._began = now

    def end(self) -> None:
        self.render_ms.append((time.perf_counter() - self._began) * 1000.0)

    def reset(self) -> None:
        self.intervals_ms.clear()
        self.render_ms.clear()
        self._last = 0.0

    def summary(self) -> dict[str, float]:
        def pct(values: deque[float], q: float) -> float:
            return float(np.percentile(np.fromiter(values, float), q)) if values else float("nan")

        return {
            "frames": float(len(self.intervals_ms)),
            "interval_p50_ms": pct(self.intervals_ms, 50),
            "interval_p99_ms": pct(self.intervals_ms, 99),
            "interval_max_ms": max(self.intervals_ms, default=float("nan")),
            "render_p50_ms": pct(self.render_ms, 50),
            "render_p99_ms": pct(self.render_ms, 99),
        }

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.summary(), indent=2) + "\n")
