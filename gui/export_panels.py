"""What ``asgiscope export`` can draw and write: one builder per panel, one writer per format.

A panel is built at the asked size in the asked theme, fed from the Lab exactly as the window feeds it
(the window itself for ``window``), then written. CSV and JSON come from the Snapshot's series, the
same arrays the plots were given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QLayout, QWidget

from asgiscope.gui import export_data
from asgiscope.gui.app import qt_message
from asgiscope.gui.caption import caption
from asgiscope.gui.clip import CLIP_FPS, Clip
from asgiscope.gui.driver import LabDriver
from asgiscope.gui.export import band_height, picture, save_png, save_svg
from asgiscope.gui.export_cli import CLIPS, ExportArgs, Format, Panel, Shot
from asgiscope.gui.flow_panel import FlowPanel
from asgiscope.gui.model import controls_from
from asgiscope.gui.plots import WINDOW_S, PlotsPanel
from asgiscope.gui.theme import Colors, apply_theme, theme
from asgiscope.gui.window import MainWindow
from asgiscope.server.lab.session import Lab
from asgiscope.server.lab.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class PanelKind:
    build: Callable[[Colors, float, Shot, Lab], QWidget]  # (theme, seconds the plots span, what runs)
    feed: Callable[[QWidget, Lab], None]


def _feed_flow(widget: QWidget, lab: Lab) -> None:
    assert isinstance(widget, FlowPanel)
    widget.show_frame(lab.flow_frame(widget.playhead), lab.snapshot())


def _feed_plots(widget: QWidget, lab: Lab) -> None:
    assert isinstance(widget, PlotsPanel)
    widget.show_snapshot(lab.snapshot())


def _build_window(colors: Colors, span: float, shot: Shot, lab: Lab) -> QWidget:
    driver = LabDriver(lab, shot.scenario, shot.load, report=lambda _message: None)
    controls = controls_from(shot.scenario, shot.load)
    cores = os.cpu_count() or 1
    window = MainWindow(driver, controls, store=None, colors=colors, cores=cores, plot_window_s=span)
    # the menus and the status bar ("saved ...", the lab's state): nothing a slide needs
    window.statusBar().hide()
    window.menuBar().hide()
    return window


def _feed_window(widget: QWidget, lab: Lab) -> None:
    assert isinstance(widget, MainWindow)
    snap = lab.snapshot()
    widget.show_snapshot(snap)
    widget.flow.show_frame(lab.flow_frame(widget.flow.playhead), snap)


PANELS: dict[Panel, PanelKind] = {
    "flow": PanelKind(lambda colors, _span, _shot, _lab: FlowPanel(colors), _feed_flow),
    "plots": PanelKind(lambda colors, span, _shot, _lab: PlotsPanel(colors, span), _feed_plots),
    "window": PanelKind(_build_window, _feed_window),
}
# (widget, path, scale, caption) for pictures
PICTURE_WRITERS: dict[Format, Callable[[QWidget, Path, int, str], None]] = {
    "png": lambda w, path, scale, text: (save_png(w, path, scale, text), None)[1],
    "svg": lambda w, path, _scale, text: save_svg(w, path, caption=text),
}
SERIES_WRITERS: dict[Format, Callable[[Snapshot, Path], None]] = {
    "csv": export_data.write_csv,
    "json": export_data.write_json,
}


class Exporter:
    """Builds the panel for each shot, grabs clip frames while the run goes on, writes every format."""

    def __init__(self, args: ExportArgs) -> None:
        self.args = args
        qInstallMessageHandler(qt_message)
        existing = QApplication.instance()
        self.app = existing if isinstance(existing, QApplication) else QApplication(["asgiscope-export"])
        self.colors = theme(args.theme, big=args.big_type)
        apply_theme(self.app, self.colors)
        pg.setConfigOptions(antialias=True, background=self.colors.plot_bg, foreground=self.colors.dim)
        self.widget: QWidget | None = None
        self.clip = Clip(args.clip_s)

    def fps(self) -> float:
        return CLIP_FPS

    def begin(self, shot: Shot) -> None:
        """A fresh panel per shot: no curve or flow state carried from the step before."""
        self._drop()
        self.shot = shot
        self.clip = Clip(self.args.clip_s)

    def _widget(self, lab: Lab) -> QWidget:
        if self.widget is None:
            args = self.args
            # the plots span the run (at most their usual window): a 5 s run fills them, not a sliver
            span = min(WINDOW_S, args.duration)
            widget = PANELS[args.panel].build(self.colors, span, self.shot, lab)
            # the caption band is part of the canvas: the file is exactly --width x --height
            band = band_height(widget, "x") if args.caption else 0
            layout = widget.layout()
            if layout is not None:
                # the slide size wins over the panel's minimum (big type at 1280 px can ask for more):
                # the file must be exactly the size asked for
                layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
            widget.setMinimumSize(0, 0)
            widget.resize(args.width, args.height - band)
            widget.show()  # offscreen: lays the panel out without a window on any screen
            self.app.processEvents()
            self.widget = widget
        return self.widget

    def _caption(self, lab: Lab) -> str:
        return caption(lab.snapshot()) if self.args.caption else ""

    def frame(self, lab: Lab) -> None:
        widget = self._widget(lab)
        PANELS[self.args.panel].feed(widget, lab)
        self.app.processEvents()
        self.clip.add(picture(widget, 1, self._caption(lab)))

    def write(self, lab: Lab, shot: Shot) -> list[Path]:
        args = self.args
        widget = self._widget(lab)
        PANELS[args.panel].feed(widget, lab)
        self.app.processEvents()
        snap = lab.snapshot()
        text = self._caption(lab)
        args.out.mkdir(exist_ok=True)
        paths = []
        for fmt in args.formats:
            path = args.path_for(shot, fmt)
            if fmt in PICTURE_WRITERS:
                PICTURE_WRITERS[fmt](widget, path, args.scale, text)
            elif fmt in SERIES_WRITERS:
                SERIES_WRITERS[fmt](snap, path)
            elif fmt in CLIPS:
                self.clip.save(path, "gif" if fmt == "gif" else "apng")
            paths.append(path)
        return paths

    def _drop(self) -> None:
        if self.widget is not None:
            # Deleted here, while the application exists: left to interpreter exit, Qt aborts.
            self.widget.close()
            shiboken6.delete(self.widget)
            self.widget = None

    def close(self) -> None:
        self._drop()
