"""The main window: insight bar on top, the request-flow panel in the centre (the process table in a
tab beside it), plots below, the controls docked at the side; menus, shortcuts and the one render timer.

Each tick reads one Snapshot from the Lab and hands it to every view; control changes go to the
driver, which applies them off the UI path. Closing the window emits ``closed``; the app then awaits
the Lab's shutdown.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from asgiscope.gui.centre import Centre
from asgiscope.gui.controls import ControlsPanel
from asgiscope.gui.driver import LabDriver
from asgiscope.gui.export import save_png, save_svg
from asgiscope.gui.export_dialog import Exports
from asgiscope.gui.flow_panel import VIEW_PX, FlowPanel
from asgiscope.gui.frames import FrameClock
from asgiscope.gui.insight import InsightBar
from asgiscope.gui.model import Controls, controls_from
from asgiscope.gui.pacing import FrameRate
from asgiscope.gui.plots import WINDOW_S, PlotsPanel
from asgiscope.gui.presenter import Presenter
from asgiscope.gui.process_view import ProcessView
from asgiscope.gui.settings import Store
from asgiscope.gui.split import PLOT_DATA_PX, SplitFitter
from asgiscope.gui.theme import Colors
from asgiscope.gui.tour_bar import TourBar
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.limits import NotAllowedError
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.tour import Tour, load_builtin, load_tour
from asgiscope.server.verdict import same_load

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1400, 900)
TEXT_HZ = 5.0  # numbers in words at 5 Hz: readable, and far fewer relayouts
PLOTS_PER_FRAME = 1  # a new sample repaints one plot per frame, not all five in one
# With the load stopped and no plot waiting to be redrawn, the frame timer slows to a poll at the
# text's 5 Hz: the Lab has no way to call the window, so something must look for the next change.
IDLE_POLL_MS = 200
# The flow panel moves at 30 frames a second, whatever the timer's rate: smooth enough to follow a
# request, and half the cost (a flow frame is ~2-3 ms of model and paint at the load ceiling).
FLOW_HZ = 30.0


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        driver: LabDriver,
        controls: Controls,
        *,
        store: Store | None,
        colors: Colors,
        cores: int,
        fps: float = 60.0,
        fixed_fps: bool = False,
        icon: QIcon | None = None,
        clock: FrameClock | None = None,
        plot_window_s: float = WINDOW_S,
    ) -> None:
        super().__init__()
        self.driver = driver
        self.store = store
        self.clock = clock or FrameClock()
        self.setWindowTitle("asgiscope — why async is fast")
        if icon is not None:
            self.setWindowIcon(icon)
        self.setObjectName("main")

        self.insight = InsightBar()
        self.tour_bar = TourBar()
        self.tour_bar.wanted.connect(self._tour_wants)
        self.flow = FlowPanel(colors)
        self.flow.send_one_requested.connect(lambda: self.driver.send_one(self.flow.follow))
        self.processes = ProcessView(colors)
        self.centre = Centre(self.flow, self.processes)
        self.plots = PlotsPanel(colors, plot_window_s)
        self.split = split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.centre)
        split.addWidget(self.plots)
        # the flow is the picture people remember: it gets the larger share of a height the user set
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.split_fitter = SplitFitter(split, self._split_needs)
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.tour_bar)
        box.addWidget(self.insight)
        box.addWidget(split, 1)
        self.setCentralWidget(central)

        self.controls = ControlsPanel(controls, cores)
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.dock = QDockWidget("Controls")
        self.dock.setObjectName("controls")
        self.dock.setWidget(scroll)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.dock.setMinimumWidth(290)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.controls.changed.connect(self._controls_changed)

        self.state_label = QLabel()
        self.statusBar().addPermanentWidget(self.state_label)
        self.exports = Exports(self, self._pictures_dir(), self._say)
        self._make_actions()
        self.presenter = Presenter(self, colors, cores)

        # A 1280x720 screen holds the whole window; offscreen there is no screen to fit (Qt's pretend
        # one is 800x800), and exports and tests draw at the size asked for.
        room = self.screen().availableGeometry()
        if QGuiApplication.platformName() == "offscreen":
            self.resize(*DEFAULT_SIZE)
        else:
            self.resize(min(DEFAULT_SIZE[0], room.width()), min(DEFAULT_SIZE[1], room.height()))
        if store is not None:
            store.restore_window(self)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.rate = FrameRate(fps, adaptive=not fixed_fps)  # steps down on a saturated machine
        self._frame_ms = self.rate.interval_ms
        self.timer.setInterval(self._frame_ms)
        self.timer.timeout.connect(self.render_frame)
        self._snapshot_failed = False
        self._last_snapshot: Snapshot | None = None
        self._text_t = -math.inf  # session time of the snapshot whose text is shown
        self._idle = False
        self._closed = False
        self._flow_at = -math.inf  # monotonic time of the last flow frame
        self._flow_moving = False

    def _split_needs(self) -> tuple[int, int]:
        """(flow, plots): the height the centre wants (its tabs and the flow's bar, a drawing
        ``VIEW_PX`` tall) and the plots (every data area ``PLOT_DATA_PX`` tall), at the type size now."""
        view = self.flow.view
        flow = self.centre.minimumSizeHint().height() + max(0, VIEW_PX - view.minimumHeight())
        return flow, self.plots.height_for(PLOT_DATA_PX)

    def fit_split(self) -> None:
        """Share the height between the flow and the plots again (the type size changed)."""
        self.split_fitter.fit()

    # -- actions ---------------------------------------------------------------------------------

    def _make_actions(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.act_png = self._action(file, "Export screenshot (PNG, 2x)…", "Ctrl+Shift+S", self.export_png)
        self.act_quick = self._action(file, "Quick screenshot", "Ctrl+S", self.quick_screenshot)
        self.act_svg = self._action(file, "Export SVG…", "", self.export_svg)
        self.act_export = self._action(file, "Export…", "Ctrl+Shift+E", lambda: self.exports.dialog())
        self.act_again = self._action(file, "Export again", "Ctrl+E", lambda: self.exports.again())
        file.addSeparator()
        self.act_quit = self._action(file, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        self.act_quit.setShortcuts([QKeySequence("Ctrl+Q")])
        view = bar.addMenu("&View")
        self.act_full = self._action(view, "Full screen", "F11", self.toggle_full_screen)
        self.act_full.setCheckable(True)
        view.addAction(self.dock.toggleViewAction())
        load = bar.addMenu("&Load")
        self.act_load = self._action(load, "Run load", "Space", self.driver.toggle_running)
        self.act_load.setCheckable(True)
        self.act_load.setToolTip("Start or stop sending requests (the servers keep running)")
        tour = bar.addMenu("&Tour")
        # F6: F5 is presentation mode (gui/presenter.py)
        self.act_tour = self._action(tour, "Start the built-in tour", "F6", self.start_builtin_tour)
        self._action(tour, "Open a tour file…", "", self.open_tour)
        self._action(tour, "End the tour", "", self.tour_bar.end)

    def _action(self, menu, text, shortcut, slot) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work with the menu bar hidden (full screen)
        return action

    def show_last(self) -> None:
        """Show the latest snapshot's text again (after its type or its room changed)."""
        if self._last_snapshot is not None:
            self.insight.show_snapshot(self._last_snapshot)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.act_full.setChecked(self.isFullScreen())

    def _pictures_dir(self) -> Path:
        where = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        return Path(where or Path.home())

    def quick_screenshot(self) -> None:
        path = self._pictures_dir() / time.strftime("asgiscope-%Y%m%d-%H%M%S.png")
        self._save(lambda: save_png(self, path, 2.0), path)

    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export screenshot", str(self._pictures_dir() / "asgiscope.png"), "PNG (*.png)"
        )
        if path:
            self._save(lambda: save_png(self, path, 2.0), Path(path))

    def export_svg(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export SVG", str(self._pictures_dir() / "asgiscope.svg"), "SVG (*.svg)"
        )
        if path:
            self._save(lambda: save_svg(self, path), Path(path))

    def _say(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def _save(self, write, path: Path) -> None:  # type: ignore[no-untyped-def]
        try:
            write()
        except OSError as exc:
            self.report(f"could not save {path}: {exc}")
        else:
            self.statusBar().showMessage(f"saved {path}", 8000)

    # -- the tour (presenter mode) -----------------------------------------------------------------

    def start_tour(self, tour: Tour, index: int = 0) -> None:
        self.tour_bar.start(tour, index)

    def start_builtin_tour(self) -> None:
        self.start_tour(load_builtin())

    def open_tour(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a tour", str(Path.home()), "Tour (*.toml)")
        if path:
            try:
                self.start_tour(load_tour(path))
            except NotAllowedError as exc:
                self.report(str(exc))

    def _tour_wants(self, scenario: Scenario, load: LoadSpec) -> None:
        """A step (or its scripted change) asks for a scenario and load: the panel shows it, the driver
        applies it as if the controls had been moved, and the load runs."""
        controls = controls_from(scenario, load)
        shown = controls.load(running=False, base=load)
        if controls.scenario() != scenario or not same_load(shown, load):  # never run what it does not claim
            wanted = f"{scenario.to_json()} with {load.path}"
            self.report(f"this step cannot be set from the panel: {wanted}")
            return
        self.controls.set_controls(controls)
        self._controls_changed(controls)
        self.driver.set_running(True)

    # -- state -----------------------------------------------------------------------------------

    def report(self, message: str) -> None:
        """Show a failure in the status bar (the app never raises into Qt)."""
        log.warning("%s", message)
        self.statusBar().showMessage(message, 15000)

    def change_controls(self, controls: Controls) -> None:
        """Show ``controls`` on the panel and ask the Lab for them (a key, a tour step)."""
        self.controls.set_controls(controls)
        self._controls_changed(controls)

    def _controls_changed(self, controls: Controls) -> None:
        self.driver.request(controls)
        if self.store is not None:
            self.store.save_controls(controls)

    def start_rendering(self) -> None:
        self.timer.start()

    @property
    def idle(self) -> bool:
        """Whether the frame timer has slowed to a poll (load stopped, no plot waiting)."""
        return self._idle

    def render_frame(self) -> None:
        if self.presenter.frozen:  # a still picture to talk over; the Lab keeps running on its own
            return
        self.clock.begin()
        cpu = time.thread_time()  # the frame's own CPU: its wall time also counts waiting for a core
        try:
            snap = self.driver.snapshot()
        except Exception as exc:  # a broken snapshot must not kill the window: say it once
            if not self._snapshot_failed:
                self._snapshot_failed = True
                log.exception("snapshot failed")
                self.report(f"reading the lab failed: {exc}")
            return
        self._snapshot_failed = False
        # Plots run every frame, even on a snapshot already seen: a new series sample's redraw is
        # spread over the next frames, one plot each. Text changes only with a new snapshot.
        fresh = snap is not self._last_snapshot
        self._last_snapshot = snap
        # (a fifth less than the period: the poll and the Lab tick drift against each other)
        text = fresh and not snap.t - self._text_t < 0.8 / TEXT_HZ
        if text:
            self._text_t = snap.t
        self.show_snapshot(snap, text=text, plot_budget=PLOTS_PER_FRAME)
        moving = self._show_flow(snap)
        # Full-rate frames while the load runs (every snapshot brings new numbers), a sample's
        # redraw is still spread over the coming frames or the flow panel moves (a replay, requests
        # still draining); text alone changes at most at TEXT_HZ, which the poll keeps up with.
        self._pace(busy=snap.load_running or self.plots.pending or moving)
        self.clock.end()
        work_ms = (time.thread_time() - cpu) * 1000.0
        if not self._idle and self.rate.record(self.clock.frames[-1][1], work_ms):
            self._frame_ms = self.rate.interval_ms
            self.timer.setInterval(self._frame_ms)

    def show_centre(self, which: str) -> None:
        """``flow`` or ``processes``: the tab the centre shows."""
        self.centre.setCurrentWidget(self.processes if which == "processes" else self.flow)

    def _show_flow(self, snap: Snapshot) -> bool:
        """Draw the flow panel if it is on screen; whether it is still moving."""
        if self.centre.currentWidget() is not self.flow or not self.flow.isVisible():
            return False
        now = time.monotonic()
        # (a fifth less than the period, as for the text: the timer's ticks drift against it)
        if now - self._flow_at < 0.8 / FLOW_HZ:
            return self._flow_moving
        self._flow_at = now
        try:
            frame = self.driver.flow_frame(self.flow.playhead)
        except Exception:  # the panel must not take the window down: log once per failure streak
            if not self._snapshot_failed:
                log.exception("flow frame failed")
            return False
        self._flow_moving = self.flow.show_frame(frame, snap)
        return self._flow_moving

    def _pace(self, *, busy: bool) -> None:
        """Only changes the timer's interval: a QTimer never queues the ticks it missed."""
        if busy == self._idle:
            self._idle = not busy
            self.timer.setInterval(self._frame_ms if busy else max(self._frame_ms, IDLE_POLL_MS))

    def show_snapshot(self, snap: Snapshot, *, text: bool = True, plot_budget: int | None = None) -> bool:
        """Render ``snap``; returns whether anything on screen changed."""
        changed = self.plots.show_snapshot(snap, budget=plot_budget)
        if text:
            changed |= self.insight.show_snapshot(snap)
            changed |= self.tour_bar.show_snapshot(snap)
            changed |= self.processes.show_snapshot(snap)
            changed |= self.presenter.show_snapshot(snap)
            state = f"{snap.state} · t = {snap.t:.0f} s"
            if state != self.state_label.text():
                self.state_label.setText(state)
                changed = True
        if snap.load_running != self.act_load.isChecked():
            self.act_load.setChecked(snap.load_running)
            changed = True
        return changed

    # -- closing ---------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self.timer.stop()
            self.exports.stop()
            self.controls.flush()
            if self.store is not None:
                self.store.save_controls(self.controls.controls())
                self.store.save_window(self)
                self.store.sync()
            self.closed.emit()
        event.accept()
