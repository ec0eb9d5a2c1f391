"""An axis whose tick labels keep their distance: on a short plot (a 1280x720 window with the flow
panel open gives the lower plots ~40 px) pyqtgraph's ticks came ~9 px apart under 11 px labels."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

ROOM = 1.6  # label heights (or widths) between two labelled ticks


class RoomyAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        levels: list[tuple[float, float]] = super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return levels
        font = self.style.get("tickFont") or self.font()
        metrics = QFontMetricsF(font)
        vertical = self.orientation in ("left", "right")
        # a label's extent along the axis: its height on a vertical axis, a few digits across otherwise
        room = ROOM * (metrics.height() if vertical else metrics.horizontalAdvance("-000"))
        kept = [(spacing, offset) for spacing, offset in levels if size * spacing / span >= room]
        # nothing fits: ticks at the ends and the middle, whose label is the one with room to show
        return kept or [(span / 2, minVal)]
