"""A per-worker time plot that stays readable from 1 to 32 workers.

Up to ``SUMMARY_ABOVE`` workers every worker has its own line and legend entry. Past that, sixteen
lines in six colours were a tangle with a legend cut off at the bottom: the workers become one median
line in a min-max band, plus at most two named outliers. Series that are not workers (the master, the
load and GUI processes on the CPU plot) keep their own lines either way. The summary itself comes from
``server/lab/spread.py``; this only draws it (curves made once, fed ``setData``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from asgiscope.gui.theme import Colors
from asgiscope.server.lab.spread import OUTLIERS, Spread

MEDIAN, FIRST_OUTLIER = 0, 1  # palette indices the summary keeps for itself; the lines take the rest


class CurveSet:
    """Curves for series that come and go (one per worker or process), created on first sight, each
    in the first palette colour no live curve (and no summary item) uses: a colour is reused only
    after its series left, so eight series never share one."""

    def __init__(self, plot: pg.PlotItem, colors: Colors, legend: bool = True) -> None:
        self._plot = plot
        self._colors = colors
        self._legend = legend
        self._color_of: dict[object, int] = {}
        self.reserved: frozenset[int] = frozenset()
        self.curves: dict[object, pg.PlotDataItem] = {}
        self.unlisted: set[object] = set()  # keys whose line is still drawn but left the legend

    def _free_color(self) -> int:
        used = set(self._color_of.values()) | self.reserved
        return next(i for i in range(len(used) + 1) if i not in used)

    def update(self, t: np.ndarray, data: Mapping[Any, np.ndarray], names: Mapping[Any, str]) -> None:
        for key in [k for k in self.curves if k not in data]:
            self._plot.removeItem(self.curves.pop(key))
            self._color_of.pop(key, None)
            self.unlisted.discard(key)
        for key, values in data.items():
            curve = self.curves.get(key)
            if curve is None:
                index = self._color_of[key] = self._free_color()
                pen = pg.mkPen(self._colors.series_color(index), width=2)
                curve = self._plot.plot(pen=pen, name=names.get(key, str(key)) if self._legend else None)
                self.curves[key] = curve
            n = min(len(t), len(values))
            curve.setData(t[-n:] if n else t[:0], values[-n:] if n else values[:0], connect="finite")
            self._list(key, curve, names, ended=bool(n) and math.isnan(values[-1]))

    def _list(self, key: object, curve: pg.PlotDataItem, names: Mapping[Any, str], *, ended: bool) -> None:
        """A process that is gone keeps its line (its history is true) but leaves the legend, which
        otherwise fills with dead pids for as long as their line scrolls by."""
        legend = self._plot.legend if self._legend else None
        if legend is None:
            return
        if ended and key not in self.unlisted:
            legend.removeItem(curve)
            self.unlisted.add(key)
        elif not ended and key in self.unlisted:
            legend.addItem(curve, names.get(key, str(key)))
            self.unlisted.discard(key)


class PerWorker:
    """One per-worker plot: ``lines`` for individual series, a median/band/outliers summary beside."""

    def __init__(self, plot: pg.PlotItem, colors: Colors, what: str) -> None:
        self._plot = plot
        self._what = what  # "workers": the legend's "median of 16 workers"
        self.lines = CurveSet(plot, colors)
        color = colors.series_color(MEDIAN)
        self.median = pg.PlotDataItem(pen=pg.mkPen(color, width=2))
        # the band's edges are curves without a pen: the fill between them is what shows
        self.low = pg.PlotDataItem(pen=None)
        self.high = pg.PlotDataItem(pen=None)
        band = QColor(color)
        band.setAlpha(70)
        self.band = pg.FillBetweenItem(self.low, self.high, brush=band)
        self.outliers = [
            pg.PlotDataItem(pen=pg.mkPen(colors.series_color(FIRST_OUTLIER + i), width=1.5))
            for i in range(OUTLIERS)
        ]
        self._summary_items = (self.band, self.low, self.high, self.median, *self.outliers)
        self.note = pg.TextItem(color=colors.dim, anchor=(0.5, 0.5))
        self.note.setParentItem(plot.vb)  # in view pixels: stays centred whatever the ranges
        self.note.hide()
        self.summarised = False
        self._listed: dict[pg.PlotDataItem, str] = {}  # summary item → its legend text

    def show(
        self,
        t: np.ndarray,
        lines: Mapping[Any, np.ndarray],
        names: Mapping[Any, str],
        summary: Spread | None = None,
        workers: Mapping[Any, np.ndarray] | None = None,
        *,
        shift: float = 0.0,
    ) -> None:
        """Draw ``lines`` one each and ``summary`` (None: none) of ``workers``, whose outliers it names
        (``names`` names them too); every item moved by ``shift`` seconds."""
        if (summary is not None) != self.summarised:
            self._switch(summary is not None)
        self.lines.update(t, lines, names)
        for curve in self.lines.curves.values():
            curve.setPos(shift, 0.0)
        if summary is None:
            return
        n = len(summary.median)
        tt = t[len(t) - n :]
        edges = ((self.median, summary.median), (self.low, summary.low), (self.high, summary.high))
        for item, values in edges:
            item.setData(tt, values, connect="finite")
        # Short labels: two columns of them fit across a plot at 1280 px wide, where "median, min-max
        # of 16" and "worker 41016 (high)" took one column each and six rows ran off the bottom.
        self._legend(self.median, f"median of {summary.count}")
        for i, curve in enumerate(self.outliers):
            if i < len(summary.outliers) and workers is not None:
                key, side = summary.outliers[i]
                curve.setData(tt, workers[key][-n:], connect="finite")
                self._legend(curve, f"{names.get(key, str(key)).removeprefix('worker ')} ({side})")
            else:
                curve.setData([], [])
                self._legend(curve, None)
        for item in self._summary_items:
            item.setPos(shift, 0.0)

    def show_note(self, text: str) -> None:
        """A sentence in the middle of the plot instead of lines ("" hides it)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))
        if text:
            rect = self._plot.vb.boundingRect()
            self.note.setPos(rect.center())

    def _switch(self, on: bool) -> None:
        self.summarised = on
        self.lines.update(np.zeros(0), {}, {})  # lines re-made in colours that leave the summary's free
        self.lines.reserved = frozenset(range(FIRST_OUTLIER + OUTLIERS)) if on else frozenset()
        for item in self._summary_items:
            if on:
                self._plot.addItem(item)
                continue
            if isinstance(item, pg.PlotDataItem):
                self._legend(item, None)
            self._plot.removeItem(item)

    def _legend(self, item: pg.PlotDataItem, text: str | None) -> None:
        legend = self._plot.legend
        if legend is None or self._listed.get(item) == text:
            return
        if item in self._listed:
            legend.removeItem(item)
            del self._listed[item]
        if text is not None:
            legend.addItem(item, text)
            self._listed[item] = text
