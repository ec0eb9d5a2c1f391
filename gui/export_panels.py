"""What ``asgiscope export`` can draw and write: one builder per panel, one writer per format.

A panel is built at the asked size, fed from the Lab exactly as the window feeds it, then written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtWidgets import QApplication, QWidget

from asgiscope.gui.export import save_png, save_svg
from asgiscope.gui.export_cli import ExportArgs, Format, Panel
from asgiscope.gui.flow_panel import FlowPanel
from asgiscope.gui.theme import Colors, apply_theme
from asgiscope.server.lab.session import Lab


@dataclass(frozen=True, slots=True)
class PanelKind:
    build: Callable[[Colors], QWidget]
    feed: Callable[[QWidget, Lab], None]


def _feed_flow(widget: QWidget, lab: Lab) -> None:
    assert isinstance(widget, FlowPanel)
    widget.show_frame(lab.flow_frame(widget.playhead), lab.snapshot())


PANELS: dict[Panel, PanelKind] = {
    "flow": PanelKind(FlowPanel, _feed_flow),
}
WRITERS: dict[Format, Callable[[QWidget, Path, float], None]] = {
    "png": lambda w, path, scale: (save_png(w, path, scale), None)[1],
    "svg": lambda w, path, _scale: save_svg(w, path),
}


class Exporter:
    def __init__(self, args: ExportArgs) -> None:
        self.args = args
        existing = QApplication.instance()
        self.app = existing if isinstance(existing, QApplication) else QApplication(["asgiscope-export"])
        self.colors = Colors()
        apply_theme(self.app, self.colors)

    def draw(self, lab: Lab) -> None:
        args = self.args
        kind = PANELS[args.panel]
        widget = kind.build(self.colors)
        widget.resize(args.width, args.height)
        widget.show()  # offscreen: lays the panel out without a window on any screen
        self.app.processEvents()
        kind.feed(widget, lab)
        self.app.processEvents()
        args.out.mkdir(exist_ok=True)
        try:
            WRITERS[args.format](widget, args.path, args.scale)
        finally:
            # Deleted here, while the application exists: left to interpreter exit, Qt aborts.
            widget.close()
            shiboken6.delete(widget)
