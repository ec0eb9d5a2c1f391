"""The window renders hand-made Snapshots: plots, insight line, process view; exports; settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from asgiscope.gui import insight as insight_module
from asgiscope.gui.driver import LabDriver
from asgiscope.gui.export import save_png, save_svg
from asgiscope.gui.insight import InsightBar
from asgiscope.gui.model import Controls
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import MainWindow
from asgiscope.server.lab.snapshot import ClientBound, Marker
from tests.gui.fakes import FakeLab, make_snapshot


@pytest.fixture
def window(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> MainWindow:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    store = Store(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(driver, c, store=store, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    return w


def test_default_size_title_and_menus(window: MainWindow) -> None:
    assert (window.width(), window.height()) == (1400, 900)
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Load", "&Tour", "&Present"]
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {"Space", "Ctrl+Q", "F11", "Ctrl+S", "Ctrl+E", "Ctrl+Shift+E", "F5", "F6", "F1", "F"} <= shortcuts


def test_plots_update_from_a_snapshot(window: MainWindow) -> None:
    snap = make_snapshot(t=30.0)
    window.show_snapshot(snap)
    p = window.plots
    x, y = p.client.getData()
    assert len(x) == len(snap.series.t) and y[-1] == 950.0
    assert p.predicted.opts["pen"].style() == pg.QtCore.Qt.PenStyle.DashLine
    assert p.p99.getData()[1][-1] == 112.0
    assert set(p.cpu_curves.curves) == {"master", "worker 1001", "worker 1002"}
    assert set(p.lag_curves.curves) == {1001, 1002}
    heights = p.bars.opts["height"]
    assert list(heights) == pytest.approx([100 / 3, 200 / 3])
    assert p.throughput.getViewBox().viewRange()[0] == pytest.approx([-90.0, 0.0], abs=1.0)
    assert x[-1] == 30.0 and p.client.pos().x() == -30.0  # drawn as seconds before the snapshot


def test_curves_follow_workers_that_come_and_go(window: MainWindow) -> None:
    window.show_snapshot(make_snapshot(pids=(1, 2)))
    window.show_snapshot(make_snapshot(pids=(2, 3, 4)))
    assert set(window.plots.lag_curves.curves) == {2, 3, 4}
    assert len(window.plots.bars.opts["height"]) == 3


def test_markers_are_labelled_lines_that_scroll_away(window: MainWindow) -> None:
    window.show_snapshot(make_snapshot(t=30.0, markers=(Marker(20.0, "workers 2→4"),)))
    lines = window.plots.markers[(20.0, "workers 2→4")]
    assert len(lines) == 4 and lines[0].label.format == "workers 2→4"
    assert lines[0].value() == -10.0  # ten seconds ago
    window.show_snapshot(make_snapshot(t=200.0, markers=(Marker(20.0, "workers 2→4"),)))
    assert window.plots.markers == {}


def test_insight_line_and_headline_numbers(window: MainWindow) -> None:
    window.show_snapshot(make_snapshot())
    bar = window.insight
    assert bar.client.value.text() == "950"
    assert bar.predicted.value.text() == "1,000"
    assert bar.p99.value.text() == "112 ms"
    assert "the users bind" in bar.lines.text()
    assert bar.warning.isHidden() and bar.errors.isHidden()
    assert "http://127.0.0.1:8123" in bar.state.text()


def test_warnings_client_bound_loss_and_errors(window: MainWindow) -> None:
    snap = make_snapshot(
        client_bound=ClientBound("the load process used 97% of a core"),
        lost=12,
        errors={"connect": 3, "status_5xx": 2},
    )
    window.show_snapshot(snap)
    bar = window.insight
    assert "client is the bottleneck" in bar.warning.text() and "97%" in bar.warning.text()
    assert "12 datagrams lost" in bar.warning.text()
    assert bar.errors.text() == "Errors since the load started: connect 3, status_5xx 2"


def test_process_view_lists_master_workers_and_dead_ones(window: MainWindow) -> None:
    window.show_snapshot(make_snapshot(pids=(1001, 1002, 1003), dead=(1003,)))
    view = window.processes
    assert view.master.text(1) == "1000"
    assert view.master.childCount() == 3
    rows = {view.master.child(i).text(1): view.master.child(i) for i in range(3)}
    assert rows["1001"].text(3) == "46 MB" and rows["1001"].text(7) == "2/40"
    assert rows["1003"].text(10) == "dead"
    assert {view.others[k].text(0) for k in view.others} == {"load generator", "this GUI"}
    assert view.events.count() == 2 and "worker exited" in view.events.item(0).text()
    window.show_snapshot(make_snapshot(pids=(1002,)))
    assert view.master.childCount() == 1


def test_render_frame_reads_the_lab(window: MainWindow, fake_lab: FakeLab) -> None:
    fake_lab.snap = make_snapshot(t=12.0)
    window.render_frame()
    assert "t = 12 s" in window.state_label.text()
    assert window.act_load.isChecked()


def test_a_broken_snapshot_is_reported_not_raised(window: MainWindow, fake_lab: FakeLab) -> None:
    def broken() -> None:
        raise RuntimeError("no snapshot")

    fake_lab.snapshot = broken  # type: ignore[method-assign]
    window.render_frame()
    assert "no snapshot" in window.statusBar().currentMessage()


def test_exports_png_at_twice_the_size_and_svg(window: MainWindow, tmp_path: Path) -> None:
    window.show_snapshot(make_snapshot())
    size = save_png(window, tmp_path / "w.png", 2.0)
    image = QImage(str(tmp_path / "w.png"))
    assert (image.width(), image.height()) == (2800, 1800) == (size.width(), size.height())
    save_svg(window, tmp_path / "w.svg")
    svg = (tmp_path / "w.svg").read_text()
    assert "<svg" in svg and "Throughput" in svg


def test_settings_round_trip_and_bad_values_fall_back(tmp_path: Path) -> None:
    path = str(tmp_path / "s.ini")
    store = Store(QSettings(path, QSettings.Format.IniFormat))
    wanted = Controls(workers=3, handler="await", work="cpu", server="gunicorn", socket="reuse_port")
    store.save_controls(wanted)
    store.sync()
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2) == wanted
    # the workers slider spans the server's whole range on any machine: nothing to cut on one core
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=1).workers == 3
    bad = QSettings(path, QSettings.Format.IniFormat)
    bad.setValue("scenario", '{"workers": 0}')
    bad.sync()
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2) == Controls()
    bad.setValue("scenario", "not json")
    bad.sync()
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2) == Controls()


def test_frames_spread_a_sample_over_all_plots(window: MainWindow, fake_lab: FakeLab) -> None:
    # The render timer sees one snapshot for several frames; every plot must be drawn within them,
    # one per frame, not just the first ones (the lower plots once stayed empty).
    fake_lab.snap = make_snapshot(t=30.0)
    window.render_frame()
    p = window.plots
    assert len(p.client.getData()[0]) > 0
    assert set(p.lag_curves.curves) == set()  # not yet: one plot per frame
    for _ in range(4):
        window.render_frame()
    assert set(p.cpu_curves.curves) == {"master", "worker 1001", "worker 1002"}
    assert set(p.lag_curves.curves) == {1001, 1002}
    assert list(p.bars.opts["height"]) == pytest.approx([100 / 3, 200 / 3])


def test_process_view_counts_worker_restarts(window: MainWindow) -> None:
    from dataclasses import replace

    window.show_snapshot(replace(make_snapshot(), restarts=2))
    assert window.processes.master.text(0).endswith("2 restarts")
    window.show_snapshot(make_snapshot())
    assert "restart" not in window.processes.master.text(0)


def test_a_gone_worker_keeps_its_line_but_leaves_the_legend(window: MainWindow) -> None:
    snap = make_snapshot(pids=(1, 2))
    lag = {pid: values.copy() for pid, values in snap.series.loop_lag_ms.items()}
    lag[1][-5:] = np.nan  # worker 1 died half a second ago: its history stays true
    gone = replace(snap, series=replace(snap.series, loop_lag_ms=lag))
    plots = window.plots
    window.show_snapshot(gone)

    def legend(plot: pg.PlotItem) -> list[str]:
        return [label.text for _, label in plot.legend.items]

    assert set(plots.lag_curves.curves) == {1, 2}
    assert legend(plots.lag) == ["worker 2"]
    # In a small window the legend spans the plot: it must lie under the lines, not hide them.
    for plot in plots.time_plots:
        assert plot.legend.zValue() < plot.vb.childGroup.zValue()
        assert plot.legend.opts["brush"].color().alpha() < 255
    # The same key back with values (the load process, restarted), one sample later.
    window.show_snapshot(make_snapshot(t=31.0, pids=(1, 2)))
    assert sorted(legend(plots.lag)) == ["worker 1", "worker 2"]


def test_the_insight_bar_grows_to_show_all_its_text_in_a_narrow_window(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bar = InsightBar()
    qtbot.addWidget(bar)
    bar.resize(900, 100)
    bar.show()
    base = bar.height()
    long_lines = (
        "Measured 1,303 req/s vs predicted 1,266 (103%). Limit: one httpx load process tops out near 1,266.",
        "Uneven accept: the busiest worker takes 64%, the idlest 36%. Workers accept() from one shared "
        "socket and keep-alive connections stay where they landed; gunicorn with reuse_port spreads them.",
    )
    snap = make_snapshot(
        insights=long_lines, client_bound=ClientBound("the load generator used 97% of a core")
    )
    bar.show_snapshot(snap)
    qtbot.waitUntil(lambda: bar.lines.height() >= bar.lines.heightForWidth(bar.lines.width()))
    for label in (bar.state, bar.lines, bar.warning):
        assert label.height() >= label.heightForWidth(label.width()), label.text()
    grown = bar.height()
    assert grown > base
    short = make_snapshot(insights=("Short.",))
    bar.show_snapshot(short)
    assert bar.height() == grown  # a line that may come back at once is kept for a while
    monkeypatch.setattr(insight_module, "SHRINK_AFTER_S", 0.0)
    bar.show_snapshot(short)
    assert bar.height() == base  # back to the base height once the text has stayed short
    bar.show_snapshot(snap)
    assert bar.height() == grown
    bar.resize(1600, grown)  # wider: the same text wraps to fewer lines (once the layout has run)

    def refit() -> bool:
        bar.show_snapshot(snap)
        return bar.height() < grown  # fewer lines, never less than the base

    qtbot.waitUntil(refit)
    assert bar.height() >= base
