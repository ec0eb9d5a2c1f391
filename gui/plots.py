"""The live plots: one pyqtgraph scene, curves made once and fed ``setData`` from each Snapshot.

Throughput (client, server, prediction dashed), latency p50/p99, requests per worker (bars), CPU per
process and loop lag per worker, all scrolling over the same window of session time, with a labelled
vertical line wherever a setting changed. Nothing is computed here: every array comes from the Snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import cast

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import (
    QGraphicsGridLayout,
    QGraphicsItem,
    QGraphicsLayout,
    QGraphicsWidget,
    QVBoxLayout,
    QWidget,
)

from asgiscope.gui.axis import RoomyAxis
from asgiscope.gui.pacing import Pacer, Sample
from asgiscope.gui.theme import Colors
from asgiscope.gui.worker_plot import CurveSet, PerWorker
from asgiscope.gui.yrange import next_top
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.lab.spread import SUMMARY_ABOVE, spread, worker_keys
from asgiscope.server.limits import PLOT_WINDOW_S

WINDOW_S = PLOT_WINDOW_S
LEFT_AXIS_PX = 56
GRID_MARGIN_PX = 4  # around the grid of plots, and between its rows
LEGEND_GAP_PX = 14  # a legend entry's spacing and the legend's margins, per column
LEGEND_TEXT_MARGIN_PX = 1.0
# The least y-axis top per time plot: an idle plot keeps a readable scale (CPU: a whole core).
Y_FLOORS = {"throughput": 10.0, "latency": 10.0, "cpu": 100.0, "lag": 10.0}
MARKER_ROWS = (0.95, 0.85, 0.75, 0.65, 0.55)  # label heights, as fractions of the plot


def _vertical_margins(layout: QGraphicsLayout) -> float:
    margins = cast(tuple[float, float, float, float], layout.getContentsMargins())
    return margins[1] + margins[3]


class TimeAxis(RoomyAxis):
    """Seconds before now as "-80 s": the unit in the ticks, so the axis needs no "seconds ago" line
    under them (at 1280x720 that line cost the two rows of plots a fifth of their data's height)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [f"{text} s" for text in super().tickStrings(values, scale, spacing)]


class PlotsPanel(QWidget):
    def __init__(self, colors: Colors, window_s: float = WINDOW_S, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self._window_s = window_s
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(colors.plot_bg)
        self.view.ci.setContentsMargins(*(GRID_MARGIN_PX,) * 4)
        self.view.ci.layout.setVerticalSpacing(GRID_MARGIN_PX)
        self._titles: list[tuple[pg.PlotItem, str]] = []
        self._legend_pt: dict[pg.PlotItem, float] = {}  # legend text size at type scale 1, if not 9
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.view)

        self.throughput = self._time_plot("Throughput", "req/s", row=0, col=0, colspan=2)
        self.latency = self._time_plot("Latency", "ms", row=0, col=2)
        self.shares = self._plot("Requests per worker", "% of requests", row=1, col=0)
        self.cpu = self._time_plot("CPU per process", "% of a core", row=1, col=1)
        self.lag = self._time_plot("Event-loop lag per worker", "ms", row=1, col=2)
        self.time_plots = (self.throughput, self.latency, self.cpu, self.lag)
        self._scrolling = {
            "throughput": self.throughput,
            "latency": self.latency,
            "cpu": self.cpu,
            "lag": self.lag,
        }

        self.client = self.throughput.plot(pen=pg.mkPen(colors.client, width=2), name="client")
        self.server = self.throughput.plot(pen=pg.mkPen(colors.server, width=2), name="server")
        self.predicted = self.throughput.plot(
            pen=pg.mkPen(colors.predicted, width=2, style=Qt.PenStyle.DashLine), name="predicted"
        )
        self.p50 = self.latency.plot(pen=pg.mkPen(colors.p50, width=2), name="p50")
        self.p99 = self.latency.plot(pen=pg.mkPen(colors.p99, width=2), name="p99")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=colors.server, pen=None)
        self.shares.addItem(self.bars)
        self.shares.setYRange(0, 100)
        self.shares.setXRange(-0.6, 1.6)
        self.shares.getAxis("bottom").setTicks([[]])
        self.cpu_view = PerWorker(self.cpu, colors, "workers")
        self.lag_view = PerWorker(self.lag, colors, "workers")
        self.cpu_curves: CurveSet = self.cpu_view.lines
        self.lag_curves: CurveSet = self.lag_view.lines
        for plot in (self.cpu, self.lag):
            # one entry per process: two columns keep the legend off most of the plot
            plot.legend.setColumnCount(2)
            self._legend_pt[plot] = 8
            plot.legend.setLabelTextSize(f"{colors.pt(8)}pt")
        # markers: one labelled vertical line per plot and marker, keyed by (t, label)
        self.markers: dict[tuple[float, str], list[pg.InfiniteLine]] = {}
        self._share_ticks: tuple[object, ...] = ()  # (pids, axis width) the bar labels were laid out for
        self._keys: dict[str, tuple[object, ...]] = {}  # per-worker plot → the series keys it shows
        self._draws: dict[str, Callable[[Snapshot], bool]] = {
            "throughput": self._show_throughput,
            "latency": self._show_latency,
            "shares": self._show_shares,
            "cpu": self._show_cpu,
            "lag": self._show_lag,
        }
        self._pacer = Pacer(self._draws)
        self._time_plots = {
            "throughput": self.throughput,
            "latency": self.latency,
            "cpu": self.cpu,
            "lag": self.lag,
        }
        self._y_tops: dict[str, float] = {}
        self._sample: Sample | None = None  # of the snapshot being drawn
        self._drawn: dict[str, object] = {}  # per plot: what it shows now (see _unchanged)
        self._legend_fits: dict[pg.PlotItem, object] = {}  # per plot: what its legend was fitted to

    def _plot(
        self, title: str, units: str, *, row: int, col: int, colspan: int = 1, time: bool = False
    ) -> pg.PlotItem:
        axes = {"left": RoomyAxis("left"), "bottom": TimeAxis("bottom") if time else RoomyAxis("bottom")}
        plot = self.view.addPlot(row=row, col=col, colspan=colspan, axisItems=axes)
        self._titles.append((plot, title))
        plot.setLabel("left", units, color=self._colors.dim)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(self._colors.grid)
            axis.setTextPen(self._colors.dim)
            # repaint an axis from a pixmap unless its range changed
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._type(plot, title, self._colors.type_scale)
        # A fixed axis width: tick labels that grow ("800" → "1,000") would otherwise resize the
        # axis, re-lay-out the grid and repaint every plot in the scene.
        return plot

    def _type(self, plot: pg.PlotItem, title: str, scale: float) -> None:
        c = self._colors
        plot.setTitle(title, color=c.text, size=f"{round(11 * scale, 1)}pt")
        # The title's row as tall as its text (pyqtgraph reserves 30 px, and the text item 4 px of
        # margin on each side of it): on a short window those pixels are the data's.
        label = plot.titleLabel
        label.item.document().setDocumentMargin(1)
        label.updateMin()
        title_px = math.ceil(label.itemRect().height())
        label.setMaximumHeight(title_px)
        plot.layout.setRowFixedHeight(0, title_px)
        tick_font = QFont()
        tick_font.setPointSizeF(round(9 * scale, 1))
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickFont=tick_font)
            axis.label.setFont(tick_font)
        plot.getAxis("left").setWidth(round(LEFT_AXIS_PX * scale))
        # A fixed height too, of one line of tick labels: pyqtgraph grows an axis to the tallest label
        # it has drawn, which re-lays-out the grid after the first paint.
        bottom = plot.getAxis("bottom")
        bottom.setHeight(math.ceil(QFontMetricsF(tick_font).height()) + bottom.style["tickTextOffset"][1])
        if plot.legend is not None:
            plot.legend.setLabelTextSize(f"{round(self._legend_pt.get(plot, 9) * scale, 1)}pt")

    def height_for(self, data_px: float) -> int:
        """The panel's height at which every plot's data area (its ViewBox) is ``data_px`` tall: each
        row's tallest title, bottom axis and margins, plus the grid's own margins and spacing."""
        grid: QGraphicsGridLayout = self.view.ci.layout
        chrome: dict[int, float] = {}
        for plot, _title in self._titles:
            own: QGraphicsGridLayout = plot.layout
            axis: QGraphicsWidget = plot.getAxis("bottom")
            height = own.rowMaximumHeight(0) + axis.maximumHeight() + _vertical_margins(own)
            for row in {cell[0] for cell in self.view.ci.items[plot]}:
                chrome[row] = max(chrome.get(row, 0.0), height)
        spacing = grid.verticalSpacing() * (len(chrome) - 1)
        return math.ceil(sum(chrome.values()) + len(chrome) * data_px + _vertical_margins(grid) + spacing)

    def set_type_scale(self, scale: float) -> None:
        """Every plot's type at ``scale`` times its size (presentation mode's big type), made again
        once, not per frame."""
        for plot, title in self._titles:
            self._type(plot, title, scale)

    def _legend_brush(self) -> QColor:
        color = QColor(self._colors.plot_bg)
        color.setAlpha(170)  # lines that cross the legend stay visible through it
        return color

    def _time_plot(self, title: str, units: str, *, row: int, col: int, colspan: int = 1) -> pg.PlotItem:
        plot = self._plot(title, units, row=row, col=col, colspan=colspan, time=True)
        legend = plot.addLegend(
            offset=(8, 4),
            labelTextColor=self._colors.text,
            labelTextSize=f"{self._colors.pt(self._legend_pt.get(plot, 9))}pt",
            brush=self._legend_brush(),
        )
        # Under the data, not over it: in a small window a two-column legend spans the whole plot and
        # hid every line above it (the newest samples are on the right, where the legend ends).
        legend.setZValue(plot.vb.childGroup.zValue() - 1)
        plot.setMouseEnabled(x=False, y=False)
        plot.setXRange(-self._window_s, 0, padding=0)
        plot.enableAutoRange(axis="y", enable=False)  # see gui/yrange.py: a round top that rarely moves
        return plot

    @property
    def pending(self) -> bool:
        """Whether plots are waiting for a frame to redraw them."""
        return bool(self._pacer.stale)

    def show_snapshot(self, snap: Snapshot, *, budget: int | None = None) -> bool:
        """Redraw the plots a new sample (~10 Hz) is worth redrawing; other frames cost nothing here.
        Returns whether a plot was redrawn.

        A plot waits until its curves would scroll by a pixel (see ``Pacer``): 90 s over a 350 px
        plot is ~0.26 s per pixel, and redrawing sooner moved the curves by a fraction of a pixel at
        several times the paint cost. With the load stopped the plots advance once a second. Curves
        hold session time; the x axis is "seconds before now", so the axes stay still and repaint from
        cache, and the curves slide left by moving them (setPos), not by recomputing their paths. A
        plot whose picture would not change (bars of the same height; nothing in its window) is not
        redrawn at all.

        ``budget`` spreads one sample's redraw over several frames, at most that many plots per call:
        repainting all five in one frame cost up to ~35 ms of CPU at the load ceiling, one at a time
        ~7 ms. None redraws everything now (tests, exports).
        """
        s = snap.series
        sample = Sample(
            length=len(s.t),
            last_t=float(s.t[-1]) if len(s.t) else 0.0,
            workers=len(snap.workers),
            markers=len(snap.markers),
            load_running=snap.load_running,
        )
        self._pacer.mark(sample, snap.t, self._pixel_s, now=budget is None)
        self._sample = sample
        drawn = 0
        while self._pacer.stale and (budget is None or drawn < budget):
            # a plot with nothing new to show costs no budget: the next one gets the frame
            name = self._pacer.take(sample, snap.t)
            if self._draws[name](snap):
                drawn += 1
                self._fit_y(name)
        return drawn > 0

    def _fit_y(self, name: str) -> None:
        """Set a time plot's y range from what its curves hold, to a round top that rarely moves."""
        plot = self._time_plots.get(name)
        if plot is None:
            return
        peak = 0.0
        for item in plot.listDataItems():
            ys, xs = item.yData, item.xData
            if ys is not None and xs is not None and len(xs) == len(ys) and len(ys):
                # what the plot shows: a series longer than the window (an export's short span, a
                # tour's earlier step) must not set the scale from samples scrolled out of sight
                ys = ys[xs >= xs[-1] - self._window_s]
            if ys is not None and len(ys) and item.isVisible():
                with np.errstate(all="ignore"):
                    top = float(np.nanmax(ys)) if not np.all(np.isnan(ys)) else 0.0
                peak = max(peak, top)
        current = self._y_tops.get(name)
        top = next_top(current, peak, Y_FLOORS.get(name, 1.0))
        if top != current:
            self._y_tops[name] = top
            plot.setYRange(0, top, padding=0)

    def _pixel_s(self, name: str) -> float:
        """Seconds of scrolling that move plot ``name`` by one pixel (0: it does not scroll)."""
        plot = self._scrolling.get(name)
        return 0.0 if plot is None else self._window_s / max(float(plot.vb.width()), 1.0)

    def _unchanged(self, name: str, snap: Snapshot, arrays: Iterable[np.ndarray]) -> bool:
        """True when the plot ``name`` would draw what it already shows: nothing in its window, as
        last time. Otherwise remembers what it is about to draw."""
        s = snap.series
        first = int(np.searchsorted(s.t, snap.t - self._window_s))
        empty = not self.markers and not any(m.t >= snap.t - self._window_s for m in snap.markers)
        empty = empty and not any(np.isfinite(a[first:]).any() for a in arrays)
        drawing: object = "empty" if empty else self._sample
        if self._drawn.get(name) == drawing:
            return True
        self._drawn[name] = drawing
        return False

    def _show_throughput(self, snap: Snapshot) -> bool:
        s = snap.series
        curves = ((self.client, s.client_rps), (self.server, s.server_rps), (self.predicted, s.predicted_rps))
        if self._unchanged("throughput", snap, (values for _, values in curves)):
            return False
        for curve, values in curves:
            curve.setData(s.t, values, connect="finite")
            curve.setPos(-snap.t, 0.0)
        # markers are made and removed with the throughput plot, and each plot moves its own lines
        self._show_markers(snap)
        return True

    def _show_latency(self, snap: Snapshot) -> bool:
        s = snap.series
        curves = ((self.p50, s.p50_ms), (self.p99, s.p99_ms))
        if self._unchanged("latency", snap, (values for _, values in curves)):
            return False
        for curve, values in curves:
            curve.setData(s.t, values, connect="finite")
            curve.setPos(-snap.t, 0.0)
        self._move_markers(snap, self.time_plots.index(self.latency))
        return True

    def _show_cpu(self, snap: Snapshot) -> bool:
        s = snap.series
        if self._unchanged("cpu", snap, s.cpu.values()) and self._keys.get("cpu") == tuple(s.cpu):
            return False
        self._keys["cpu"] = tuple(s.cpu)
        workers = worker_keys(s.cpu)
        if len(workers) > SUMMARY_ABOVE:
            lines = {k: v for k, v in s.cpu.items() if k not in set(workers)}
            summary = spread(s.cpu, workers, length=len(s.t))
        else:
            lines, summary = dict(s.cpu), None
        self.cpu_view.show(s.t, lines, {k: str(k) for k in s.cpu}, summary, s.cpu, shift=-snap.t)
        self._fit_legend(self.cpu)
        self._move_markers(snap, self.time_plots.index(self.cpu))
        return True

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # the plots' own sizes follow once the scene's layout has run
        QTimer.singleShot(0, self._fit_legends)

    def _fit_legends(self) -> None:
        for plot in (self.cpu, self.lag):
            self._fit_legend(plot)

    def _fit_legend(self, plot: pg.PlotItem) -> None:
        """Two columns where they fit across the plot, else one: at 1280 px wide with 16 workers the
        two-column legend ran off the plot's right edge ("mas" for master)."""
        legend = plot.legend
        if legend is None or not legend.items:
            return
        # called on every draw of the plot: lay out again only when its entries, type or width changed
        key = (tuple((label.text, label.opts.get("size")) for _s, label in legend.items), plot.vb.width())
        if self._legend_fits.get(plot) == key:
            return
        self._legend_fits[plot] = key
        tightened = False
        for _sample, label in legend.items:
            doc = label.item.document()
            if doc.documentMargin() != LEGEND_TEXT_MARGIN_PX:
                # Qt's 4 px around each entry's text made five rows 105 px: taller than a plot at 720
                doc.setDocumentMargin(LEGEND_TEXT_MARGIN_PX)
                label.updateMin()  # the label takes its text's new size
                label.resizeEvent(None)
                tightened = True
        widest = max(label.boundingRect().width() for _sample, label in legend.items)
        sample = legend.items[0][0].boundingRect().width()
        columns = 2 if 2 * (widest + sample + LEGEND_GAP_PX) <= plot.vb.width() else 1
        if legend.columnCount != columns:
            legend.setColumnCount(columns)
        elif tightened:
            legend.updateSize()

    def _show_lag(self, snap: Snapshot) -> bool:
        s = snap.series
        wsgi = snap.scenario.wsgi
        lag = {} if wsgi else s.loop_lag_ms
        if self._unchanged("lag", snap, lag.values()) and self._keys.get("lag") == (wsgi, *lag):
            return False
        self._keys["lag"] = (wsgi, *lag)
        # WSGI workers run no event loop: an honest blank, not a row of 0 ms lines
        self.lag_view.show_note("no event loop (WSGI)" if wsgi else "")
        names = {pid: f"worker {pid}" for pid in lag}
        if len(lag) > SUMMARY_ABOVE:
            self.lag_view.show(s.t, {}, names, spread(lag, length=len(s.t)), lag, shift=-snap.t)
        else:
            self.lag_view.show(s.t, lag, names, shift=-snap.t)
        self._fit_legend(self.lag)
        self._move_markers(snap, self.time_plots.index(self.lag))
        return True

    def _show_shares(self, snap: Snapshot) -> bool:
        workers = snap.workers
        # heights to the pixel: a share that moved by less is not worth a repaint
        px = max(self.shares.vb.height(), 1.0)
        bars = tuple((w.pid, round(w.share * px), w.alive) for w in workers)
        if bars == self._drawn.get("shares"):
            return False
        self._drawn["shares"] = bars
        pids = tuple(w.pid for w in workers)
        x = np.arange(len(workers), dtype=float)
        heights = np.array([w.share * 100.0 for w in workers], dtype=float)
        brushes = [self._colors.server if w.alive else self._colors.grid for w in workers]
        self.bars.setOpts(x=x, height=heights, brushes=brushes)
        width = round(self.shares.vb.width())
        if (pids, width) != self._share_ticks:
            self._share_ticks = (pids, width)
            axis = self.shares.getAxis("bottom")
            axis.setTicks([[(i, str(pids[i])) for i in range(0, len(pids), self._label_step(pids))]])
            self.shares.setXRange(-0.6, max(1, len(pids)) - 0.4)
        return True

    def _label_step(self, pids: tuple[int, ...]) -> int:
        """Label every bar whose pid fits, else every second, third...: 32 pids on a 400 px axis were
        printed on top of each other. (Layout from the widget's own font and width, not data.)"""
        if not pids:
            return 1
        font = self.shares.getAxis("bottom").style.get("tickFont") or self.font()
        metrics = QFontMetricsF(font)
        label = max(metrics.horizontalAdvance(str(pid)) for pid in pids) + metrics.averageCharWidth() * 2
        slot = max(float(self.shares.vb.width()), 1.0) / len(pids)  # pixels per bar
        return max(1, math.ceil(label / slot))

    def _show_markers(self, snap: Snapshot) -> None:
        oldest = snap.t - self._window_s
        wanted = {(m.t, m.label): i for i, m in enumerate(snap.markers) if m.t >= oldest}
        for key in [k for k in self.markers if k not in wanted]:
            for plot, line in zip(self.time_plots, self.markers.pop(key), strict=True):
                plot.removeItem(line)
        for key in wanted.keys() - self.markers.keys():
            lines = []
            for i, plot in enumerate(self.time_plots):
                line = pg.InfiniteLine(
                    angle=90,
                    movable=False,
                    pen=pg.mkPen(self._colors.marker, width=1, style=Qt.PenStyle.DashLine),
                    # the label once, on the throughput plot, so the small plots stay readable;
                    # left of its line (new markers appear at the right edge), and stepped down so
                    # changes made in quick succession stay legible
                    label=key[1] if i == 0 else None,
                    labelOpts={
                        "position": MARKER_ROWS[wanted[key] % len(MARKER_ROWS)],
                        "color": self._colors.marker,
                        "anchors": [(1, 0.5), (1, 0.5)],
                    },
                )
                plot.addItem(line, ignoreBounds=True)
                lines.append(line)
            self.markers[key] = lines
        self._move_markers(snap, 0)

    def _move_markers(self, snap: Snapshot, plot_index: int) -> None:
        # Each plot moves its own marker lines when it redraws: moving all four from one plot's
        # redraw would dirty the whole scene and repaint every plot in that frame.
        for (t, _label), lines in self.markers.items():
            lines[plot_index].setValue(t - snap.t)
