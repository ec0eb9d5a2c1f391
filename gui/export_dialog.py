"""The export dialog (Ctrl+Shift+E) and "export again" (Ctrl+E): what, how, where, with a caption or not.

What: the whole window, the plots, one plot, or the flow panel. How: PNG at 1x/2x/3x, SVG (vectors),
the clipboard, CSV or JSON of every plotted series, or a GIF/APNG clip of the last N seconds. A clip
needs frames kept as they are drawn: choosing one starts a ring of them (``Recorder``) for that
target, and the clip is written once it holds N seconds (Ctrl+E again). Files go to a folder, named
after the target and the time, so Ctrl+E never asks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QPushButton,
    QWidget,
)

from asgiscope.gui import export_data
from asgiscope.gui.caption import caption
from asgiscope.gui.clip import CLIP_FPS, Clip
from asgiscope.gui.export import copy_to_clipboard, picture, save_png, save_svg

if TYPE_CHECKING:
    from asgiscope.gui.window import MainWindow

Target = Literal["window", "plots", "throughput", "latency", "shares", "cpu", "lag", "flow"]
How = Literal["png", "svg", "clipboard", "csv", "json", "gif", "apng"]
TARGET_WORDS: dict[Target, str] = {
    "window": "the whole window",
    "plots": "the plots",
    "throughput": "one plot: throughput",
    "latency": "one plot: latency",
    "shares": "one plot: requests per worker",
    "cpu": "one plot: CPU per process",
    "lag": "one plot: event-loop lag",
    "flow": "the request-flow panel",
}
HOW_WORDS: dict[How, str] = {
    "png": "PNG picture",
    "svg": "SVG (vector: paths and text)",
    "clipboard": "copy to the clipboard",
    "csv": "CSV of every plotted series",
    "json": "JSON of every plotted series",
    "gif": "GIF clip of the last seconds",
    "apng": "APNG clip of the last seconds (full colour)",
}


@dataclass(frozen=True, slots=True)
class Choice:
    target: Target = "window"
    how: How = "png"
    scale: int = 2
    caption: bool = False
    clip_s: float = 5.0
    folder: str = ""


def target_of(window: MainWindow, target: Target) -> tuple[QWidget, QRect | None]:
    """The widget to render and, for one plot, the part of the plots' scene it covers."""
    if target == "window":
        return window, None
    if target == "flow":
        return window.flow, None
    if target == "plots":
        return window.plots, None
    plots = window.plots
    item = getattr(plots, target)
    view = plots.view
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return view, rect.intersected(QRect(0, 0, view.width(), view.height()))


class Recorder:
    """Keeps the last ``seconds`` of a target as frames, grabbed at CLIP_FPS while it runs."""

    def __init__(self, window: MainWindow, target: Target, seconds: float) -> None:
        self.window, self.target, self.seconds = window, target, seconds
        self.clip = Clip(seconds)
        self.started = time.monotonic()
        self.timer = QTimer(window)
        self.timer.setInterval(round(1000 / CLIP_FPS))
        self.timer.timeout.connect(self.grab)
        self.timer.start()

    def grab(self) -> None:
        if self.window.presenter.frozen:
            return  # a frozen picture adds nothing to a clip
        widget, area = target_of(self.window, self.target)
        self.clip.add(picture(widget, 1, "", area))

    @property
    def full(self) -> bool:
        return len(self.clip.frames) == self.clip.frames.maxlen

    def stop(self) -> None:
        self.timer.stop()


class ExportDialog(QDialog):
    def __init__(self, choice: Choice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        form = QFormLayout(self)
        self.target = self._combo(TARGET_WORDS, choice.target)
        self.how = self._combo(HOW_WORDS, choice.how)
        self.scale = self._combo({1: "1x", 2: "2x (crisp slides)", 3: "3x (4K)"}, choice.scale)
        self.caption = QCheckBox("stamp the scenario, measured vs predicted and the version under it")
        self.caption.setChecked(choice.caption)
        self.clip_s = QDoubleSpinBox()
        self.clip_s.setRange(1.0, 10.0)
        self.clip_s.setSuffix(" s")
        self.clip_s.setValue(choice.clip_s)
        self.folder = QPushButton(choice.folder)
        self.folder.clicked.connect(self._pick_folder)
        form.addRow("What", self.target)
        form.addRow("How", self.how)
        form.addRow("Scale (PNG, clipboard)", self.scale)
        form.addRow("Clip length", self.clip_s)
        form.addRow("", self.caption)
        form.addRow("Folder", self.folder)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _combo(self, words: dict, current: object) -> QComboBox:  # type: ignore[type-arg]
        box = QComboBox()
        for value, text in words.items():
            box.addItem(text, value)
        box.setCurrentIndex(max(0, box.findData(current)))
        return box

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def choice(self) -> Choice:
        return Choice(
            target=self.target.currentData(),
            how=self.how.currentData(),
            scale=int(self.scale.currentData()),
            caption=self.caption.isChecked(),
            clip_s=self.clip_s.value(),
            folder=self.folder.text(),
        )


class Exports:
    """The window's exports: the last choice (Ctrl+E repeats it) and the clip recorder, if any."""

    def __init__(self, window: MainWindow, folder: Path, say: Callable[[str], None]) -> None:
        self.window = window
        self.last = Choice(folder=str(folder))
        self.say = say
        self.recorder: Recorder | None = None

    def dialog(self) -> None:
        dialog = ExportDialog(self.last, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.last = dialog.choice()
            self.again()

    def again(self) -> Path | None:
        """Export with the last choice; returns the file written (None: clipboard, or a clip not ready)."""
        c = self.last
        snap = self.window.driver.snapshot()
        text = caption(snap) if c.caption else ""
        widget, area = target_of(self.window, c.target)
        suffix = c.how if c.how != "clipboard" else ""
        name = time.strftime(f"asgiscope-{c.target}-%Y%m%d-%H%M%S")
        what = "series" if c.how in ("csv", "json") else c.target
        path = Path(c.folder) / f"{name.replace(c.target, what, 1)}.{suffix}"
        try:
            if c.how == "png":
                save_png(widget, path, c.scale, text, area)
            elif c.how == "svg":
                save_svg(widget, path, caption=text, area=area)
            elif c.how == "clipboard":
                size = copy_to_clipboard(widget, c.scale, text, area)
                self.say(f"copied {TARGET_WORDS[c.target]} ({size.width()}x{size.height()}) to the clipboard")
                return None
            elif c.how == "csv":
                export_data.write_csv(snap, path)
            elif c.how == "json":
                export_data.write_json(snap, path)
            else:
                return self._clip(c, path)
        except OSError as exc:
            self.say(f"could not save {path}: {exc}")
            return None
        self.say(f"saved {path}")
        return path

    def _clip(self, c: Choice, path: Path) -> Path | None:
        r = self.recorder
        if r is None or r.target != c.target or r.seconds != c.clip_s:
            if r is not None:
                r.stop()
            self.recorder = Recorder(self.window, c.target, c.clip_s)
            self.say(f"recording the last {c.clip_s:g} s of {TARGET_WORDS[c.target]}: Ctrl+E writes the clip")
            return None
        if not r.full:
            held = len(r.clip.frames) / CLIP_FPS
            self.say(f"the clip holds {held:.1f} of {c.clip_s:g} s so far: Ctrl+E again in a moment")
            return None
        frames = r.clip.save(path, "gif" if c.how == "gif" else "apng")
        self.say(f"saved {path} ({frames} frames)")
        return path

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
