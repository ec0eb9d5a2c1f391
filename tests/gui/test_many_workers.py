"""Per-worker views at 1 to 32 workers: labels that never overlap, a summary past a few workers,
colours that stay apart (offscreen, checked from the widgets' geometry)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF, QSettings
from PySide6.QtGui import QImage, QPainter
from pytestqt.qtbot import QtBot

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import THEMES, Colors
from asgiscope.gui.window import MainWindow
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.lab.spread import SUMMARY_ABOVE
from tests.gui.fakes import FakeLab
from tests.gui.many import many_workers

SIZES = [(1280, 720), (1920, 1080)]


def shown(qtbot: QtBot, tmp_path: Path, snap: Snapshot, size: tuple[int, int]) -> MainWindow:
    c = Controls()
    driver = LabDriver(FakeLab(snap), c.scenario(), c.load(running=False), lambda _m: None)
    store = Store(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(driver, c, store=store, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.show_snapshot(snap)
    qtbot.wait(20)  # the layout settles (legends lay out their rows on the next events)
    w.show_snapshot(snap)  # again at the laid-out size: the bar labels depend on the axis width
    qtbot.wait(20)
    return w


def tick_rects(axis: pg.AxisItem) -> list[QRectF]:
    """Where the axis draws its tick labels, in its own coordinates (as its paint does)."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [rect for rect, _flags, _text in specs[2]] if specs else []


def legend_rects(plot: pg.PlotItem) -> list[QRectF]:
    """Each legend entry's label, in scene coordinates."""
    legend = plot.legend
    rects = []
    for _sample, label in legend.items:
        if label.isVisible():
            # the text's own box: the label item's rect includes the text document's empty margin
            margin = label.item.document().documentMargin()
            box = label.item.boundingRect().adjusted(margin, margin, -margin, -margin)
            rects.append(label.item.mapRectToScene(box))
    return rects


def overlapping(rects: list[QRectF]) -> list[tuple[QRectF, QRectF]]:
    return [
        (a, b)
        for a, b in itertools.combinations(rects, 2)
        if a.intersected(b).width() > 0.5 and a.intersected(b).height() > 0.5
    ]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", [1, 4, 16, 32])
def test_no_two_axis_labels_or_legend_items_overlap(
    qtbot: QtBot, tmp_path: Path, count: int, size: tuple[int, int]
) -> None:
    p = shown(qtbot, tmp_path, many_workers(count), size).plots
    labels = tick_rects(p.shares.getAxis("bottom"))
    assert labels, "the bars have no labels at all"
    assert overlapping(labels) == []
    assert len(labels) >= min(count, 4)  # thinned, not gone: at least a few pids stay named
    for plot in p.time_plots:
        for side in ("left", "bottom"):
            rects = tick_rects(plot.getAxis(side))
            assert rects, f"{plot.titleLabel.text}: no {side} labels at all"  # thinned, never all gone
            assert overlapping(rects) == []
        assert overlapping(legend_rects(plot)) == []


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", [4, 16, 32])
def test_the_legends_fit_inside_their_plots(
    qtbot: QtBot, tmp_path: Path, count: int, size: tuple[int, int]
) -> None:
    # at 1280 px wide a two-column legend ran off the right edge: it folds to one column there
    p = shown(qtbot, tmp_path, many_workers(count), size).plots
    for plot in (p.cpu, p.lag):
        box = plot.vb.sceneBoundingRect()
        for rect in legend_rects(plot):
            assert box.contains(rect), f"{plot.titleLabel.text}: a legend entry is cut off"


@pytest.mark.parametrize("count", [SUMMARY_ABOVE + 1, 16, 32])
def test_past_a_few_workers_the_per_worker_plots_show_a_summary(
    qtbot: QtBot, tmp_path: Path, count: int
) -> None:
    p = shown(qtbot, tmp_path, many_workers(count), (1920, 1080)).plots
    for view in (p.cpu_view, p.lag_view):
        assert view.summarised
        assert view.median.xData is not None and len(view.median.xData) == len(many_workers(count).series.t)
    # no worker has its own line; the master, load and GUI processes still do
    assert set(p.cpu_curves.curves) == {"master", "load", "gui"}
    assert p.lag_curves.curves == {}
    texts = [label.text for _sample, label in p.lag.legend.items]
    assert f"median of {count}" in texts
    # the hot worker (the last) is named as the outlier on the high side
    assert f"{41000 + count} (high)" in texts


@pytest.mark.parametrize("count", [1, 4, SUMMARY_ABOVE])
def test_a_few_workers_keep_one_line_each(qtbot: QtBot, tmp_path: Path, count: int) -> None:
    p = shown(qtbot, tmp_path, many_workers(count), (1920, 1080)).plots
    assert not p.cpu_view.summarised and not p.lag_view.summarised
    assert len(p.lag_curves.curves) == count
    assert len([k for k in p.cpu_curves.curves if str(k).startswith("worker ")]) == count


def test_going_from_many_workers_to_few_and_back_switches_cleanly(qtbot: QtBot, tmp_path: Path) -> None:
    w = shown(qtbot, tmp_path, many_workers(32), (1920, 1080))
    few = many_workers(3, t=61.0)
    w.show_snapshot(few)
    p = w.plots
    assert not p.lag_view.summarised and len(p.lag_curves.curves) == 3
    assert p.lag_view.median not in p.lag.items  # the summary left the plot...
    assert all("median" not in label.text for _s, label in p.lag.legend.items)  # ...and its legend
    w.show_snapshot(many_workers(32, t=62.0))
    assert p.lag_view.summarised and p.lag_curves.curves == {}


def test_wsgi_workers_show_no_event_loop_rather_than_zero_lines(qtbot: QtBot, tmp_path: Path) -> None:
    p = shown(qtbot, tmp_path, many_workers(4, worker_class="sync"), (1920, 1080)).plots
    assert p.lag_view.note.isVisible() and p.lag_view.note.toPlainText() == "no event loop (WSGI)"
    assert p.lag_curves.curves == {}
    p2 = shown(qtbot, tmp_path, many_workers(4), (1920, 1080)).plots
    assert not p2.lag_view.note.isVisible()


def _lab(hex_color: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour: distances there follow what eyes tell apart."""
    rgb = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


@pytest.mark.parametrize("name", list(THEMES))
def test_eight_series_colours_are_all_distinct(name: str) -> None:
    colors = THEMES[name]
    eight = [colors.series_color(i) for i in range(8)]
    assert len(set(eight)) == 8
    labs = [_lab(c) for c in eight]
    for (i, a), (j, b) in itertools.combinations(enumerate(labs), 2):
        distance = sum((p - q) ** 2 for p, q in zip(a, b, strict=True)) ** 0.5
        assert distance > 20, (
            f"{name}: series {i} {eight[i]} and {j} {eight[j]} look alike (ΔE {distance:.0f})"
        )
