"""Presenter mode: the tour bar steps on clicker keys and buttons, shows the live verdict from fed
Snapshots, and a step reaches the Lab (a recording fake) through the panel's own path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from asgiscope.gui.cli import parse
from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls, controls_from
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import Colors
from asgiscope.gui.tour_bar import TourBar
from asgiscope.gui.window import MainWindow
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.tour import Tour, load_builtin, parse_tour
from asgiscope.server.verdict import same_load
from tests.gui.fakes import FakeLab, make_snapshot
from tests.gui.shown import press, shown_window

TOUR = """
title = "Test tour"
[[steps]]
title = "Overlap"
caption = "One loop overlaps every wait."
scenario = { workers = 2 }
load = { endpoint = "io/async", ms = 100, users = 100 }

[[steps]]
title = "Blocked"
caption = "A blocking call stops the loop."
scenario = { workers = 1 }
load = { endpoint = "io/blocking", ms = 50, users = 20 }
changes = ["0.3:users=10"]
"""


@pytest.fixture
def tour() -> Tour:
    return parse_tour(TOUR, "test")


@pytest.fixture
def bar(qtbot: QtBot) -> TourBar:
    b = TourBar()
    qtbot.addWidget(b)
    return b


def test_clicker_keys_and_buttons_step_through_the_tour(qtbot: QtBot, bar: TourBar, tour: Tour) -> None:
    wanted: list[tuple[Scenario, LoadSpec]] = []
    bar.wanted.connect(lambda s, ld: wanted.append((s, ld)))
    assert bar.isHidden() and bar.index == -1
    bar.start(tour)
    qtbot.waitExposed(bar)
    assert bar.isVisible() and bar.index == 0
    assert bar.where.text() == "Test tour · step 1 of 2 · Overlap"
    assert bar.caption.text() == "One loop overlaps every wait."
    assert wanted == [(tour.steps[0].scenario, tour.steps[0].load)]
    assert not bar.previous_button.isEnabled() and bar.next_button.isEnabled()
    for key, index in [
        (Qt.Key.Key_Right, 1),
        (Qt.Key.Key_Right, 1),  # past the end: nothing
        (Qt.Key.Key_Left, 0),
        (Qt.Key.Key_PageDown, 1),
        (Qt.Key.Key_PageUp, 0),
        (Qt.Key.Key_PageUp, 0),
    ]:
        press(qtbot, bar, key)
        assert bar.index == index, key
    assert [s.workers for s, _ in wanted] == [2, 1, 2, 1, 2]  # one wish per step actually changed
    bar.next_button.click()
    assert bar.index == 1 and bar.caption.text() == "A blocking call stops the loop."
    assert not bar.next_button.isEnabled()
    bar.previous_button.click()
    assert bar.index == 0
    bar.start(tour, 1)  # resuming a talk at a step
    assert bar.index == 1 and bar.where.text().endswith("step 2 of 2 · Blocked")
    assert "Right" in bar.next_button.toolTip() and "Page Down" in bar.next_button.toolTip()
    assert "Left" in bar.previous_button.toolTip() and "Page Up" in bar.previous_button.toolTip()


def test_a_scripted_change_is_asked_for_when_it_comes_due_and_not_after_leaving_the_step(
    qtbot: QtBot, bar: TourBar, tour: Tour
) -> None:
    bar.start(tour)
    bar.next()
    with qtbot.waitSignal(bar.wanted, timeout=3000) as due:
        pass
    scenario, load = due.args
    assert (scenario.workers, load.endpoint, load.users) == (1, "io/blocking", 10)
    bar.go(0)
    bar.next()
    bar.previous()  # left before the change came due
    with qtbot.assertNotEmitted(bar.wanted, wait=600):
        pass


async def test_the_arrows_belong_to_the_tour_only_while_it_runs(
    qtbot: QtBot, fake_lab: FakeLab, tour: Tour
) -> None:
    w, driver = shown_window(qtbot, fake_lab)
    slider = w.controls.workers.slider
    slider.setFocus()
    press(qtbot, slider, Qt.Key.Key_Right)  # no tour: the focused slider takes the arrow
    assert (slider.value(), w.tour_bar.index) == (3, -1)
    w.start_tour(tour)
    assert slider.value() == 2  # the step's workers
    press(qtbot, slider, Qt.Key.Key_Right)  # a tour: the arrow is Next, wherever the focus is
    assert (w.tour_bar.index, slider.value()) == (1, 1)
    w.tour_bar.end()
    press(qtbot, slider, Qt.Key.Key_Left)
    assert (w.tour_bar.index, slider.value()) == (-1, 1)  # at the slider's left end
    press(qtbot, slider, Qt.Key.Key_Right)
    assert slider.value() == 2
    await driver.close()


def test_the_verdict_is_the_servers_words_for_the_fed_snapshot(bar: TourBar, tour: Tour) -> None:
    step = tour.steps[0]
    bar.start(tour)
    ours = replace(make_snapshot(), scenario=step.scenario, load=step.load, requests=9000)  # 950 of 1,000
    assert bar.show_snapshot(ours)
    said = "measured 950 req/s, predicted 1,000: within 10 % (-5.0 %), over the last 1 s"
    assert bar.verdict.text() == said
    assert bar.verdict.objectName() == "ok"
    assert bar.verdict.toolTip() == "100 users / 100 ms = 1,000 req/s"
    assert not bar.show_snapshot(ours)  # nothing new: nothing repainted
    bar.show_snapshot(replace(ours, client_rps=700.0))
    assert "more than 10 % (-30.0 %)" in bar.verdict.text() and bar.verdict.objectName() == "error"
    bar.show_snapshot(replace(ours, scenario=Scenario(workers=4)))
    assert bar.verdict.text() == "waiting for this step's scenario to run"
    assert bar.verdict.objectName() == "verdict"
    bar.show_snapshot(replace(ours, state="restarting"))
    assert bar.verdict.text() == "bringing the servers to this step…"
    bar.show_snapshot(replace(ours, load_running=False))
    assert bar.verdict.text() == "the load is off (Space starts it)"
    bar.show_snapshot(replace(ours, requests=0))  # no response yet since the load started
    assert bar.verdict.text() == "measuring…"


async def test_a_step_reaches_the_lab_through_the_panel(
    qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path, tour: Tour
) -> None:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    store = Store(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(driver, c, store=store, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    driver.start()
    await driver.settle()
    w.start_tour(tour)
    await driver.settle()
    assert w.tour_bar.isVisible() and w.tour_bar.index == 0
    assert fake_lab.names() == ["start", "start_load"]  # the first step is what runs: load on
    press(qtbot, w, Qt.Key.Key_PageDown)  # a clicker's Next, wherever the focus is
    await driver.settle()
    assert w.tour_bar.index == 1
    assert fake_lab.names()[2:] == ["apply", "set_load"]
    assert fake_lab.calls[2][1] == Scenario(workers=1)
    assert (fake_lab.calls[3][1].endpoint, fake_lab.calls[3][1].ms) == ("io/blocking", 50)
    shown = w.controls.controls()
    assert (shown.workers, shown.handler, shown.work, shown.users, shown.ms) == (1, "blocking", "io", 20, 50)
    await driver.close()


def test_the_tour_menu_starts_the_built_in_tour(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> None:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    w = MainWindow(driver, c, store=None, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    w.tour_bar.wanted.disconnect()  # only the bar here: no loop for the driver to run on
    assert "&Tour" in [a.text() for a in w.menuBar().actions()]
    assert w.act_tour.text() == "Start the built-in tour"
    assert w.act_tour.shortcut().toString() == "F6"  # F5 is presentation mode
    w.act_tour.trigger()
    assert w.tour_bar.tour is not None and w.tour_bar.index == 0
    assert w.tour_bar.where.text().startswith("Why FastAPI is fast, measured · step 1 of ")


def test_the_app_takes_a_tour_file_and_refuses_a_bad_one_before_qt_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse([], cores=2).tour_loaded is None
    assert parse(["--tour", "builtin"], cores=2).tour_loaded.title == "Why FastAPI is fast, measured"
    good = tmp_path / "good.toml"
    good.write_text(TOUR)
    assert parse(["--tour", str(good)], cores=2).tour_loaded.steps[1].title == "Blocked"
    assert parse(["--tour", str(good), "--tour-step", "2"], cores=2).tour_step == 2
    with pytest.raises(SystemExit):
        parse(["--tour", str(good), "--tour-step", "3"], cores=2)
    said = "--tour-step=3 is not allowed: tour-step must be a step of the tour, 1 to 2"
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"asgiscope: error: {said}"
    bad = tmp_path / "bad.toml"
    bad.write_text(TOUR.replace("workers = 1", "workers = 0"))
    with pytest.raises(SystemExit) as exit_info:
        parse(["--tour", str(bad)], cores=2)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"asgiscope: error: {bad}: step 2 ('Blocked'): scenario.workers=0 is not allowed: "
        "scenario.workers must be a whole number from 1 to 32"
    )


def test_every_fastapi_step_of_the_built_in_tour_is_what_the_panel_can_show() -> None:
    # Flask and Django steps need the panel's framework and worker-class controls (issue 9 §3)
    for step in load_builtin().steps:
        for scenario, load in [(step.scenario, step.load), *((c.scenario, c.load) for c in step.changes)]:
            if scenario.framework != "fastapi":
                continue
            controls = controls_from(scenario, load)
            assert controls.scenario() == scenario, step.title
            assert same_load(controls.load(running=False, base=load), load), step.title


async def test_a_step_the_panel_cannot_show_is_told_and_nothing_else_runs(
    qtbot: QtBot, fake_lab: FakeLab
) -> None:
    told: list[str] = []
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), told.append)
    w = MainWindow(driver, c, store=None, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    w.report = told.append  # type: ignore[method-assign]
    hello = parse_tour(TOUR.replace('endpoint = "io/async", ms = 100', 'endpoint = "hello"'), "t")
    driver.start()
    await driver.settle()
    w.start_tour(hello)
    await driver.settle()
    assert fake_lab.names() == ["start"]
    assert told == [f"this step cannot be set from the panel: {Scenario(workers=2).to_json()} with /hello"]
    await driver.close()
