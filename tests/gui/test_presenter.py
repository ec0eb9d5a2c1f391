"""Presentation mode, freezing, control keys and the help overlay, on a window driving a recording Lab."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from asgiscope.gui.keys import CONTROL_KEYS, cycle, workers
from asgiscope.gui.model import Controls, Ranges
from asgiscope.gui.presenter import COMPACT_BELOW_PX
from tests.gui.fakes import FakeLab
from tests.gui.shown import press, shown_window


async def test_digits_and_letters_reach_the_lab(qtbot: QtBot, fake_lab: FakeLab) -> None:
    w, driver = shown_window(qtbot, fake_lab)
    driver.start()
    await driver.settle()
    press(qtbot, w, Qt.Key.Key_3)
    await driver.settle()
    assert w.controls.controls().workers == 3
    assert fake_lab.calls[-1][0] == "apply" and fake_lab.calls[-1][1].workers == 3
    press(qtbot, w, Qt.Key.Key_H)  # await → threadpool
    await driver.settle()
    assert w.controls.controls().handler == "threadpool"
    assert fake_lab.calls[-1][0] == "set_load" and fake_lab.calls[-1][1].endpoint == "io/sync"


def test_keys_stay_inside_what_the_panel_offers() -> None:
    ranges = Ranges.for_cores(1)  # the workers slider offers the server's 1-32 even on one core
    assert workers(9)(Controls(), ranges).workers == 9
    flask = Controls().with_changes(framework="flask")  # WSGI: async handlers are refused
    assert cycle("handler")(flask, ranges).handler == "threadpool"
    keys = [k for key in CONTROL_KEYS for k in key.keys]
    assert len(keys) == len(set(keys))  # no key does two things


def test_presentation_mode_hides_the_controls_and_freeze_stops_drawing(
    qtbot: QtBot, fake_lab: FakeLab
) -> None:
    w, _driver = shown_window(qtbot, fake_lab)
    press(qtbot, w, Qt.Key.Key_F5)
    assert w.presenter.presenting and not w.dock.isVisible() and not w.menuBar().isVisible()
    font = QApplication.font().pointSizeF()
    assert w.plots.throughput.titleLabel.opts["size"] == "16.5pt"  # the plots' type too
    w.render_frame()
    assert w.presenter.caption.isVisible()
    assert w.presenter.caption.text() == fake_lab.snap.insights[0]  # the insight line is the caption
    # ...and the bar above does not repeat it; what it shows fits in it at the big type
    assert fake_lab.snap.insights[0] not in w.insight.lines.text()
    # on a short screen (offscreen's is 800 lines) the other lines give their room to the picture
    short = w.screen().availableGeometry().height() < COMPACT_BELOW_PX
    assert w.insight.compact == short
    if short:
        assert w.insight.lines.text() == ""
    qtbot.wait(20)
    bar = w.insight
    labels = [x for x in (bar.state, bar.lines, bar.warning, bar.errors) if not x.isHidden()]
    assert bar.height() >= sum(x.heightForWidth(bar.lines.width()) for x in labels)
    press(qtbot, w, Qt.Key.Key_F5)
    assert w.dock.isVisible() and not w.presenter.caption.isVisible()
    assert QApplication.font().pointSizeF() * 1.5 == font  # big type while presenting
    assert w.plots.throughput.titleLabel.opts["size"] == "11.0pt"  # and the plots' type back
    w.render_frame()
    assert fake_lab.snap.insights[0] in w.insight.lines.text()  # the bar has its first line again

    reads = []
    original = w.driver.snapshot
    w.driver.snapshot = lambda: (reads.append(1), original())[1]  # type: ignore[method-assign]
    press(qtbot, w, Qt.Key.Key_F)
    w.render_frame()
    assert w.presenter.frozen and reads == []  # the picture stays still
    press(qtbot, w, Qt.Key.Key_F)
    w.render_frame()
    assert reads == [1]


def test_f1_shows_every_key(qtbot: QtBot, fake_lab: FakeLab) -> None:
    w, _driver = shown_window(qtbot, fake_lab)
    press(qtbot, w, Qt.Key.Key_F1)
    assert w.presenter.help.isVisible()
    text = w.presenter.help.text()
    for words in ("Space", "F5", "F6", "Ctrl+E", "1 … 9", "next handler"):
        assert words in text, words
    press(qtbot, w, Qt.Key.Key_Escape)
    assert not w.presenter.help.isVisible()
    assert w.act_tour.shortcut().toString() == "F6"
