"""An idle window costs little: nothing unchanged is drawn or set again, and the frame timer slows to
a poll while the load is stopped and no plot waits, and is back at full rate on the next change."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls
from asgiscope.gui.pacing import IDLE_REDRAW_S
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import IDLE_POLL_MS, MainWindow
from asgiscope.server.lab.snapshot import Snapshot
from tests.gui.fakes import FakeLab, make_snapshot


@pytest.fixture
def window(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> MainWindow:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    w = MainWindow(driver, c, store=None, colors=Colors(), cores=2, fps=60.0)
    qtbot.addWidget(w)
    return w


def stopped(t: float) -> Snapshot:
    """The load stopped ``t`` seconds into the session: no client figures, a sample every 0.1 s."""
    snap = make_snapshot(t=t)
    n = len(snap.series.t)
    nan = np.full(n, np.nan)
    series = replace(snap.series, client_rps=nan, predicted_rps=nan, p50_ms=nan, p99_ms=nan)
    return replace(snap, load_running=False, series=series)


def count_calls(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(obj, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, counting)
    return calls


def test_the_same_snapshot_twice_draws_and_sets_nothing_again(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = make_snapshot(t=30.0)
    assert window.show_snapshot(snap)
    p = window.plots
    curves = [p.client, p.server, p.predicted, p.p50, p.p99, *p.cpu_curves.curves.values()]
    data = [count_calls(monkeypatch, c, "setData") for c in curves]
    bars = count_calls(monkeypatch, p.bars, "setOpts")
    text = count_calls(monkeypatch, window.insight.lines, "setText")
    state = count_calls(monkeypatch, window.state_label, "setText")
    assert not window.show_snapshot(snap)
    assert [len(d) for d in data] == [0] * len(curves)
    assert (bars, text, state) == ([], [], [])
    # a new sample is drawn, but the bars, whose heights did not change, are not
    assert window.show_snapshot(make_snapshot(t=30.1))
    assert all(len(d) == 1 for d in data) and bars == []


def test_a_plot_with_nothing_in_its_window_is_drawn_empty_once(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # long after the load stopped, the latency plot has nothing left to show
    window.show_snapshot(replace(stopped(200.0), markers=()))
    p99 = count_calls(monkeypatch, window.plots.p99, "setData")
    server = count_calls(monkeypatch, window.plots.server, "setData")
    window.show_snapshot(replace(stopped(200.0 + IDLE_REDRAW_S), markers=()))
    assert p99 == []  # still nothing to show
    assert server == [1]  # the server's zero line scrolls on


def test_a_stopped_load_advances_the_plots_once_a_second(
    window: MainWindow, fake_lab: FakeLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lab.snap = stopped(30.0)
    for _ in range(6):  # one plot a frame
        window.render_frame()
    server = count_calls(monkeypatch, window.plots.server, "setData")
    t = 30.0
    while t < 30.0 + IDLE_REDRAW_S - 0.15:
        t += 0.1
        fake_lab.snap = stopped(t)
        window.render_frame()
    assert server == []
    fake_lab.snap = stopped(30.0 + IDLE_REDRAW_S)
    window.render_frame()
    assert server == [1]


def test_the_frame_timer_slows_to_a_poll_when_idle_and_is_back_on_a_change(
    window: MainWindow, fake_lab: FakeLab
) -> None:
    window.start_rendering()
    frame_ms = window.timer.interval()
    assert frame_ms == 16 and not window.idle
    fake_lab.snap = stopped(30.0)
    window.render_frame()
    assert not window.idle  # plots still wait for their frames
    for _ in range(5):
        window.render_frame()
    assert window.idle and window.timer.interval() == IDLE_POLL_MS
    assert window.timer.isActive()  # a poll: the Lab cannot call the window
    for _ in range(3):  # polls that find nothing new keep it slow
        window.render_frame()
        assert window.idle
    fake_lab.snap = stopped(30.0 + IDLE_REDRAW_S)  # a second on: plots to redraw
    window.render_frame()
    assert not window.idle and window.timer.interval() == frame_ms
    fake_lab.snap = make_snapshot(t=32.0)  # the load started: full rate, as long as it runs
    for _ in range(20):
        window.render_frame()
        assert not window.idle
