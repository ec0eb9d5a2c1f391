"""Settings that survive a restart (QSettings): the controls and the window geometry.

Values are stored as the Scenario and LoadSpec JSON the rest of the project already speaks. Anything
unreadable — an old format, a hand-edited file, a value out of range — falls back to the defaults,
so a bad settings file can never keep the app from starting. What is stored is what the Lab last
accepted: the driver saves a rolled-back panel again after a refused change.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from asgiscope.gui.model import Controls, Ranges, controls_from, fit_load_processes, is_handler
from asgiscope.gui.theme import ThemeName
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

log = logging.getLogger(__name__)


class Store:
    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    def controls(self, cores: int) -> Controls:
        """The stored controls, or the defaults if nothing (valid) is stored."""
        try:
            scenario_json = self._settings.value("scenario")
            load_json = self._settings.value("load")
            if not isinstance(scenario_json, str) or not isinstance(load_json, str):
                return Controls()
            scenario = Scenario.from_json(scenario_json)
            load = LoadSpec.from_json(load_json)
            handler = self._settings.value("handler")
            controls = controls_from(scenario, load, handler if is_handler(handler) else None)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring stored settings: %s", exc)
            return Controls()
        # a settings file from a bigger machine may ask for more workers than this one's slider offers
        fitted = Ranges.for_cores(cores).fit(controls)
        return fitted.with_changes(load_processes=fit_load_processes(fitted.load_processes, cores))

    def save_controls(self, controls: Controls) -> None:
        self._settings.setValue("scenario", controls.scenario().to_json())
        self._settings.setValue("load", controls.load(running=False).to_json())
        self._settings.setValue("handler", controls.handler)

    def theme(self) -> ThemeName:
        """The stored theme, dark if none (or an unknown word) is stored."""
        name = self._settings.value("theme")
        return "light" if name == "light" else "dark"

    def save_theme(self, name: ThemeName) -> None:
        self._settings.setValue("theme", name)

    def restore_window(self, window: QMainWindow) -> bool:
        geometry = self._settings.value("geometry")
        state = self._settings.value("window_state")
        restored = isinstance(geometry, QByteArray) and window.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            window.restoreState(state)
        return bool(restored)

    def save_window(self, window: QMainWindow) -> None:
        self._settings.setValue("geometry", window.saveGeometry())
        self._settings.setValue("window_state", window.saveState())

    def sync(self) -> None:
        self._settings.sync()
