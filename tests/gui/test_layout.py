"""The window's height shared between the request-flow panel and the plots, checked from the widgets'
geometry (offscreen): at 1280x720 and 1920x1080, from 1 to 32 workers, every plot's data area is a
useful height, the flow keeps its own, and no title, tick label or unit is cut off."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtWidgets import QApplication, QGraphicsTextItem
from pytestqt.qtbot import QtBot

from asgiscope.gui.flow_panel import VIEW_MIN_PX, VIEW_PX
from asgiscope.gui.split import PLOT_DATA_PX, PLOTS_SHARE, shares
from asgiscope.gui.theme import BIG_TYPE
from asgiscope.gui.window import MainWindow
from tests.gui.many import many_workers
from tests.gui.test_many_workers import SIZES, shown, tick_rects

USEFUL_PX = 110  # the least data height a plot is readable at (the aim at 1280x720)


def plot_items(w: MainWindow) -> list[pg.PlotItem]:
    p = w.plots
    return [p.throughput, p.latency, p.shares, p.cpu, p.lag]


def text_rect(item: QGraphicsTextItem) -> QRectF:
    """The text's own box in the scene, without its document's empty margin (any rotation)."""
    margin = item.document().documentMargin()
    return item.mapRectToScene(item.boundingRect().adjusted(margin, margin, -margin, -margin))


def inside(outer: QRectF, inner: QRectF, slack: float = 0.5) -> bool:
    return outer.adjusted(-slack, -slack, slack, slack).contains(inner)


def cut_off(w: MainWindow) -> list[str]:
    """Every title, tick label or unit drawn outside its plot, over its data or outside what the
    view shows; every plot whose grid cell is cut by the bottom of the view."""
    view = w.plots.view
    shown_rect = view.mapToScene(view.viewport().rect()).boundingRect()
    problems = []
    for plot in plot_items(w):
        name = plot.titleLabel.text
        box = plot.sceneBoundingRect()
        data = plot.vb.sceneBoundingRect()
        if not inside(shown_rect, box):
            problems.append(f"{name}: the plot runs out of the view ({box} in {shown_rect})")
        title = text_rect(plot.titleLabel.item)
        if not inside(box, title) or title.bottom() > data.top() + 0.5:
            problems.append(f"{name}: the title {title} is cut off or over the data {data}")
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            for rect in tick_rects(axis):
                scene = axis.mapRectToScene(rect)
                if not inside(box, scene) or (side == "bottom" and scene.top() < data.bottom() - 0.5):
                    problems.append(f"{name}: a {side} tick label {scene} is cut off")
            if axis.label.isVisible():
                unit = text_rect(axis.label)
                if not inside(box, unit):
                    problems.append(f"{name}: its {side} unit {unit} is cut off in {box}")
    return problems


def data_heights(w: MainWindow) -> dict[str, float]:
    return {plot.titleLabel.text: plot.vb.height() for plot in plot_items(w)}


def test_the_plots_get_their_need_and_then_a_share_when_there_is_room() -> None:
    flow, plots = shares(1000, 200, 300)
    assert (flow, plots) == (1000 - round(1000 * PLOTS_SHARE), round(1000 * PLOTS_SHARE))
    assert shares(540, 220, 310) == (230, 310)  # the share is too small: the plots' need
    assert shares(540, 400, 100) == (400, 140)  # the share would squeeze the flow: the flow's need


def test_without_room_both_panes_give_in_proportion_to_what_they_need() -> None:
    flow, plots = shares(450, 240, 340)
    assert flow + plots == 450
    assert plots / flow == pytest.approx(340 / 240, rel=0.02)
    assert shares(0, 10, 10) == (0, 0)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", [1, 4, 16, 32])
def test_every_plot_has_a_useful_data_height_and_nothing_is_cut_off(
    qtbot: QtBot, tmp_path: Path, count: int, size: tuple[int, int]
) -> None:
    w = shown(qtbot, tmp_path, many_workers(count), size)
    heights = data_heights(w)
    assert min(heights.values()) >= USEFUL_PX, heights
    assert cut_off(w) == []
    assert w.flow.view.height() >= VIEW_PX  # the flow is still the larger picture's share
    # the panes fill the window's middle: nothing pushed under the status bar
    central = w.centralWidget()
    bottom = w.plots.mapTo(central, QPoint(0, w.plots.height())).y()
    assert bottom <= central.height()


def test_the_larger_screen_gives_the_plots_more_than_their_need(qtbot: QtBot, tmp_path: Path) -> None:
    small = min(data_heights(shown(qtbot, tmp_path, many_workers(4), (1280, 720))).values())
    w = shown(qtbot, tmp_path, many_workers(4), (1920, 1080))
    assert min(data_heights(w).values()) > small + 20
    assert w.flow.view.height() > w.plots.height()  # the flow is the picture people remember


@pytest.mark.parametrize("size", SIZES)
def test_presentation_type_keeps_every_title_and_label_whole(
    qtbot: QtBot, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Presentation mode's big type (full screen is the offscreen platform's pretend 800x800, so the
    window keeps the size asked for and takes the big type the way F5 gives it)."""
    w = shown(qtbot, tmp_path, many_workers(16), size)
    w.plots.set_type_scale(BIG_TYPE)
    w.fit_split()
    qtbot.wait(20)
    assert cut_off(w) == []
    assert w.flow.view.height() >= VIEW_MIN_PX
    if size == (1920, 1080):
        assert min(data_heights(w).values()) >= USEFUL_PX


def test_a_split_the_user_dragged_is_kept_when_the_window_resizes(qtbot: QtBot, tmp_path: Path) -> None:
    w = shown(qtbot, tmp_path, many_workers(4), (1920, 1080))
    handle = w.split.handle(1)
    start = handle.rect().center()
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(handle, start + QPoint(0, 150))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=start + QPoint(0, 150))
    QApplication.processEvents()
    assert w.split_fitter.user_set
    flow, plots = w.split.sizes()
    w.resize(1920, 1000)
    qtbot.wait(20)
    after = w.split.sizes()
    assert sum(after) < flow + plots
    # Qt keeps the user's proportions; the fitter no longer sets its own
    assert after[1] / sum(after) == pytest.approx(plots / (flow + plots), abs=0.05)
    assert after[1] / sum(after) < PLOTS_SHARE - 0.05


def test_the_plots_ask_for_what_their_titles_and_axes_take(qtbot: QtBot, tmp_path: Path) -> None:
    w = shown(qtbot, tmp_path, many_workers(4), (1920, 1080))
    p = w.plots
    assert min(data_heights(w).values()) == pytest.approx(
        PLOT_DATA_PX + (p.height() - p.height_for(PLOT_DATA_PX)) / 2, abs=1.0
    )


def test_the_tabs_share_a_row_with_the_flow_bar_which_hides_with_the_table(
    qtbot: QtBot, tmp_path: Path
) -> None:
    w = shown(qtbot, tmp_path, many_workers(4), (1280, 720))
    tabs, bar = w.centre.tabs, w.centre.bar
    assert bar.isVisible() and bar.geometry().top() < tabs.geometry().bottom()  # one row, not two
    w.show_centre("processes")
    assert w.centre.currentWidget() is w.processes and not bar.isVisible()
    assert w.centre.tabs.currentIndex() == 1
    tabs.setCurrentIndex(0)  # a click on the tab
    assert w.centre.currentWidget() is w.flow and bar.isVisible()
