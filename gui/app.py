"""App bootstrap: QApplication, theme, the qasync loop, the Lab, the window, scripted runs, clean exit.

The Lab runs on the same qasync loop as the widgets; every Lab call is a task (see ``LabDriver``), so
the window keeps repainting while servers start or restart. Closing the window, Ctrl+Q, SIGINT and
SIGTERM all end the same way: stop rendering, then await the Lab's close, then leave the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from importlib import resources
from pathlib import Path

import pyqtgraph as pg
import qasync
from PySide6.QtCore import QMessageLogContext, QSettings, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication

from asgiscope.gui.cli import overrides, priority
from asgiscope.gui.controls import ControlsPanel
from asgiscope.gui.driver import LabDriver
from asgiscope.gui.export import save_png
from asgiscope.gui.frames import FrameClock
from asgiscope.gui.model import Controls
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import Colors, apply_theme, theme
from asgiscope.gui.window import MainWindow
from asgiscope.server.limits import NotAllowedError

log = logging.getLogger(__name__)

ICON = ("asgiscope.assets", "asgiscope.svg")


# Qt messages that say nothing about this app (the offscreen plugin repeats this one on every relayout)
QUIET = ("This plugin does not support propagateSizeHints()",)


def qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if message not in QUIET:
        print(f"qt: {message}", file=sys.stderr)


def _icon() -> QIcon:
    """The window icon, read from the installed package (a wheel has no repository folder to look in)."""
    package, name = ICON
    pixmap = QPixmap()
    with contextlib.suppress(OSError, ModuleNotFoundError):
        pixmap.loadFromData(resources.files(package).joinpath(name).read_bytes())
    if pixmap.isNull():
        log.warning("window icon %s/%s could not be loaded", package, name)
    return QIcon(pixmap)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    qInstallMessageHandler(qt_message)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("asgiscope")
    app.setOrganizationName("asgiscope")
    app.setApplicationDisplayName("asgiscope")
    # the loop ends when main() returns, after the Lab closed; not when the last window goes away
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(_icon())
    settings = QSettings(args.settings, QSettings.Format.IniFormat) if args.settings else QSettings()
    store = Store(settings)
    if args.theme is not None:
        store.save_theme(args.theme)
    colors = theme(store.theme(), big=args.big_type)
    apply_theme(app, colors)
    pg.setConfigOptions(antialias=True, background=colors.plot_bg, foreground=colors.dim)
    try:
        return asyncio.run(_main(app, args, colors, store), loop_factory=lambda: qasync.QEventLoop(app))
    except KeyboardInterrupt:
        return 130


def _controls(store: Store, args: argparse.Namespace, cores: int) -> Controls:
    controls = Controls() if args.reset else store.controls(cores)
    changes = overrides(args)
    if not changes:
        return controls
    controls = controls.with_changes(**changes)
    controls.scenario()  # validate now, with the field named in the message
    controls.load(running=False)
    return controls


async def _main(app: QApplication, args: argparse.Namespace, colors: Colors, store: Store) -> int:
    # imported here: the engine is only needed once a window is about to open
    from asgiscope.server.lab.session import Lab

    cores: int = args.cores
    try:
        controls = _controls(store, args, cores)
    except NotAllowedError as exc:  # what only the whole scenario can refuse
        print(f"asgiscope: error: {exc.as_flag()}", file=sys.stderr)
        return 2

    lab = Lab(
        controls.scenario(),
        controls.load(running=False),
        port=args.port,
        hz=args.lab_hz,
        priority=priority(args),
    )
    driver = LabDriver(lab, controls.scenario(), controls.load(running=False), report=log.warning)
    clock = FrameClock()
    t0 = time.perf_counter()  # the clock's zero, within microseconds: lab samples share its time axis
    window = MainWindow(
        driver,
        controls,
        store=store,
        colors=colors,
        cores=cores,
        fps=args.fps,
        fixed_fps=args.fixed_fps,
        icon=app.windowIcon(),
        clock=clock,
    )
    driver.report = window.report
    roll_back_on_refusal(driver, window.controls, store)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # not on Windows; there Ctrl+C in the console ends the process the hard way
        with contextlib.suppress(NotImplementedError, AttributeError, RuntimeError):
            loop.add_signal_handler(sig, window.close)

    window.show_centre(getattr(args, "centre", "flow"))
    window.show()
    window.start_rendering()
    driver.start()
    if args.tour_loaded is not None:
        window.start_tour(args.tour_loaded, args.tour_step - 1)
    if args.autostart:
        driver.set_running(True)

    script = Script(window, driver, args)
    tasks = {loop.create_task(script.screenshot()), loop.create_task(script.quit_after())}
    if args.frame_stats:
        tasks.add(loop.create_task(script.sample_lab(t0)))
    try:
        await closed.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await driver.close()
        if args.frame_stats:
            clock.write(args.frame_stats)
            script.add_lab_samples(args.frame_stats)
    # a scripted run whose servers never came up must not look like a success
    return 0 if driver.started or args.quit_after is None else 1


def roll_back_on_refusal(driver: LabDriver, panel: ControlsPanel, store: Store) -> None:
    """A change the Lab refused: the panel shows what runs again, and the settings keep that."""

    def rolled_back(controls: Controls) -> None:
        panel.set_controls(controls)
        store.save_controls(controls)

    driver.on_refused = rolled_back


class Script:
    """``--screenshot`` and ``--quit-after``: what a scripted check (tests, CI, the benchmark) needs."""

    def __init__(self, window: MainWindow, driver: LabDriver, args: argparse.Namespace) -> None:
        self.window = window
        self.driver = driver
        self.args = args
        self.shot_taken = False
        self.lab_samples: list[tuple[float, float, float, float]] = []

    async def screenshot(self) -> None:
        if not self.args.screenshot:
            return
        if self.args.autostart:
            # the Snapshot is the one source of truth about the load, and it is polled anyway
            while not self.driver.snapshot().load_running:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        await asyncio.sleep(self.args.screenshot_after)
        self.take_screenshot()

    def take_screenshot(self) -> None:
        if self.shot_taken or not self.args.screenshot:
            return
        self.shot_taken = True
        try:
            size = save_png(self.window, self.args.screenshot, 1.0)
        except OSError as exc:
            self.window.report(str(exc))
        else:
            log.info("screenshot %s (%dx%d)", self.args.screenshot, size.width(), size.height())

    async def sample_lab(self, t0: float) -> None:
        """With ``--frame-stats``: once a second, measured and predicted throughput and the cores
        others took (the benchmark compares them with and without the priority policy)."""
        while True:
            await asyncio.sleep(1.0)
            snap = self.driver.snapshot()
            if snap.load_running and snap.prediction is not None:
                p = snap.prediction
                row = (time.perf_counter() - t0, snap.client_rps, p.throughput_rps, p.others_cores)
                self.lab_samples.append(row)

    def add_lab_samples(self, path: str) -> None:
        """Rows of (seconds on the frame clock, measured req/s, predicted req/s, others' cores)."""
        file = Path(path)
        data = json.loads(file.read_text())
        data["lab"] = [list(row) for row in self.lab_samples]
        file.write_text(json.dumps(data) + "\n")

    async def quit_after(self) -> None:
        if self.args.quit_after is None:
            return
        await asyncio.sleep(self.args.quit_after)
        self.take_screenshot()  # at quit time at the latest
        self.window.close()
