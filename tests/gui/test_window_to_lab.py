"""Controls in the window reach the Lab (a recording fake) as the right calls."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import MainWindow
from tests.gui.fakes import FakeLab


async def test_controls_and_space_reach_the_lab(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> None:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    path = str(tmp_path / "s.ini")
    w = MainWindow(
        driver, c, store=Store(QSettings(path, QSettings.Format.IniFormat)), colors=Colors(), cores=2
    )
    qtbot.addWidget(w)
    driver.start()
    w.controls.workers.slider.setValue(3)
    w.controls.flush()
    await driver.settle()
    w.controls.choices["handler"].buttons["threadpool"].click()
    await driver.settle()
    w.act_load.trigger()
    await driver.settle()
    assert fake_lab.names() == ["start", "apply", "set_load", "start_load"]
    assert fake_lab.calls[1][1].workers == 3
    assert fake_lab.calls[2][1].endpoint == "io/sync"
    stored = Store(QSettings(path, QSettings.Format.IniFormat)).controls(cores=2)
    assert stored.workers == 3 and stored.handler == "threadpool"
