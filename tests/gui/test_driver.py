"""The driver turns control wishes into Lab calls, in order, merged, never raises, and rolls back
what the Lab refuses (plain asyncio; the last test adds the window and the settings)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from asgiscope.gui.app import roll_back_on_refusal
from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import MainWindow
from tests.gui.fakes import FakeLab


def make(lab: FakeLab) -> tuple[LabDriver, list[str]]:
    reports: list[str] = []
    c = Controls()
    return LabDriver(lab, c.scenario(), c.load(running=False), reports.append), reports


async def test_start_then_workers_go_through_apply(fake_lab: FakeLab) -> None:
    driver, reports = make(fake_lab)
    driver.start()
    driver.request(Controls(workers=4))
    await driver.settle()
    assert fake_lab.names() == ["start", "apply"]
    assert fake_lab.calls[1][1].workers == 4
    assert driver.started and reports == []


async def test_load_changes_go_through_set_load(fake_lab: FakeLab) -> None:
    driver, _ = make(fake_lab)
    driver.start()
    driver.request(Controls(ms=250, users=400, handler="threadpool"))
    await driver.settle()
    assert fake_lab.names() == ["start", "set_load"]
    load = fake_lab.calls[1][1]
    assert (load.ms, load.users, load.endpoint) == (250, 400, "io/sync")


async def test_running_toggles_start_and_stop_load(fake_lab: FakeLab) -> None:
    driver, _ = make(fake_lab)
    driver.start()
    driver.set_running(True)
    await driver.settle()
    driver.toggle_running()
    await driver.settle()
    assert fake_lab.names() == ["start", "start_load", "stop_load"]


async def test_wishes_during_a_slow_call_are_merged(fake_lab: FakeLab) -> None:
    driver, _ = make(fake_lab)
    fake_lab.delay = 0.05
    driver.start()
    for workers in (2, 3, 4, 3, 1):
        driver.request(Controls(workers=workers))
        await asyncio.sleep(0.001)
    await driver.settle()
    applies = [arg.workers for name, arg in fake_lab.calls if name == "apply"]
    assert applies == [1]  # only the last wish reached the Lab


async def test_a_failing_apply_is_reported_not_raised_and_not_retried(fake_lab: FakeLab) -> None:
    driver, reports = make(fake_lab)
    refused: list[Controls] = []
    driver.on_refused = refused.append
    fake_lab.fail = {"apply"}
    driver.start()
    driver.request(Controls(server="gunicorn", ms=50))
    await driver.settle()
    assert reports == ["applying the scenario failed: apply exploded (the controls are back to what runs)"]
    # the scenario goes back to what runs; the load change, which the Lab took, stays
    assert refused == [Controls(ms=50)] and driver.shown() == Controls(ms=50)
    driver.request(refused[-1].with_changes(users=7))  # the rolled-back panel's next change
    await driver.settle()
    assert fake_lab.names() == ["start", "apply", "set_load", "set_load"]


async def test_a_refused_change_is_not_taken_as_applied(fake_lab: FakeLab) -> None:
    driver, _ = make(fake_lab)
    fake_lab.fail = {"apply"}
    driver.start()
    driver.request(Controls(workers=3))
    await driver.settle()
    fake_lab.fail = set()
    driver.request(Controls(workers=3))  # asked again on purpose: tried again, not skipped as "applied"
    await driver.settle()
    assert [arg.workers for name, arg in fake_lab.calls if name == "apply"] == [3, 3]


async def test_a_newer_wish_survives_the_refusal_of_an_older_one(fake_lab: FakeLab) -> None:
    driver, _ = make(fake_lab)
    refused: list[Controls] = []
    driver.on_refused = refused.append
    fake_lab.refuse = lambda name, arg: name == "apply" and arg.workers == 3
    driver.start()
    await driver.settle()
    fake_lab.delay = 0.05
    driver.request(Controls(workers=3))
    await asyncio.sleep(0)  # the pump runs up to its first await: apply(3) is in flight
    assert fake_lab.names() == ["start", "apply"]
    driver.request(Controls(workers=4))  # apply(3) will fail; this newer wish must not go with it
    await driver.settle()
    assert [arg.workers for name, arg in fake_lab.calls if name == "apply"] == [3, 4]
    assert refused == [] and driver.shown().workers == 4


async def test_controls_the_server_refuses_are_reported_not_raised(fake_lab: FakeLab) -> None:
    driver, reports = make(fake_lab)
    refused: list[Controls] = []
    driver.on_refused = refused.append
    driver.request(Controls(workers=48))  # no slider offers this; a bug must still not raise into Qt
    await asyncio.sleep(0)
    assert reports == ["workers=48 is not allowed: workers must be a whole number from 1 to 32"]
    assert refused == [Controls()]
    assert fake_lab.calls == []


async def test_a_failed_start_is_retried_by_the_next_wish(fake_lab: FakeLab) -> None:
    driver, reports = make(fake_lab)
    fake_lab.fail = {"start"}
    driver.start()
    driver.request(Controls(workers=3))
    await driver.settle()
    assert fake_lab.names() == ["start"] and not driver.started
    assert "starting the servers failed" in reports[0]
    fake_lab.fail = set()
    driver.set_running(True)
    await driver.settle()
    assert fake_lab.names() == ["start", "start", "apply", "start_load"]


async def test_close_cancels_the_pump_and_closes_the_lab_once(fake_lab: FakeLab) -> None:
    driver, _ = make(fake_lab)
    fake_lab.delay = 10.0
    driver.start()
    await asyncio.sleep(0.01)  # the pump now sleeps inside lab.start()
    fake_lab.delay = 0.0
    await asyncio.wait_for(driver.close(), 1.0)
    await driver.close()
    driver.request(Controls(workers=4))
    assert fake_lab.names() == ["start", "close"]


async def test_a_refused_change_rolls_the_panel_and_the_settings_back(
    qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path
) -> None:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    path = str(tmp_path / "s.ini")
    store = Store(QSettings(path, QSettings.Format.IniFormat))
    window = MainWindow(driver, c, store=store, colors=Colors(), cores=2)
    qtbot.addWidget(window)
    driver.report = window.report
    roll_back_on_refusal(driver, window.controls, store)
    fake_lab.refuse = lambda name, arg: name == "apply" and arg.server == "gunicorn"
    driver.start()
    await driver.settle()

    window.controls.choices["handler"].buttons["threadpool"].click()  # accepted
    await driver.settle()
    window.controls.choices["server"].buttons["gunicorn"].click()  # refused by the Lab
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2).server == "gunicorn"
    await driver.settle()

    assert fake_lab.names() == ["start", "set_load", "apply"]
    running = Controls(handler="threadpool")
    assert window.controls.controls() == running
    assert window.controls.choices["server"].value() == "uvicorn"
    assert window.controls.choices["server"].buttons["uvicorn"].isChecked()
    assert "the Lab refused apply" in window.statusBar().currentMessage()
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2) == running
    window.close()  # quitting saves the panel: still what runs
    assert Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2) == running


async def test_choosing_flask_while_the_load_hits_an_async_route_moves_the_load_first() -> None:
    # The real Lab refuses a WSGI scenario while the load still asks for io/async: the driver must
    # change the load (to the def route, which the running FastAPI serves too) before the scenario.
    from asgiscope.server.lab.session import Lab

    start = Controls(workers=1, handler="await")
    lab = Lab(start.scenario(), start.load(running=False))
    reports: list[str] = []
    driver = LabDriver(lab, start.scenario(), start.load(running=False), reports.append)
    try:
        driver.start()
        await driver.settle()
        driver.request(start.with_changes(framework="flask"))
        await driver.settle()
        assert reports == []
        assert (lab.scenario.framework, lab.scenario.worker_class, lab.load.endpoint) == (
            "flask",
            "sync",
            "io/sync",
        )
    finally:
        await driver.close()
