"""A main window on a fake Lab, shown, and keys pressed as the application gets them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.model import Controls
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import MainWindow
from tests.gui.fakes import FakeLab


def press(qtbot: QtBot, widget: QWidget, key: Qt.Key) -> None:
    """A key as the application gets it: shortcuts reach only an active window."""
    widget.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=2000)
    qtbot.keyClick(widget, key)


def shown_window(qtbot: QtBot, fake_lab: FakeLab) -> tuple[MainWindow, LabDriver]:
    """The window with default controls and no settings store, shown and exposed."""
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    w = MainWindow(driver, c, store=None, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w, driver
