"""The driver turns control wishes into Lab calls, in order, merged, and never raises (plain asyncio)."""

from __future__ import annotations

import asyncio

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls
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
    fake_lab.fail = {"apply"}
    driver.start()
    driver.request(Controls(server="gunicorn"))
    await driver.settle()
    assert reports == ["applying the scenario failed: apply exploded"]
    driver.request(Controls(server="gunicorn", ms=50))
    await driver.settle()
    assert fake_lab.names() == ["start", "apply", "set_load"]


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
