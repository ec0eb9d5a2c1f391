"""Presentation mode (F5), the freeze key (F), the keyboard's control keys and the help overlay (F1, ?).

Presentation mode hides the controls, the menus and the status bar, goes full screen, sets big type
and shows the Lab's first insight line as a caption under the picture. Freezing stops the window
drawing — the Lab, the servers and the load keep running, so unfreezing shows the present, not a
replay. Control keys (``gui/keys.py``) change the panel exactly as a click would.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from asgiscope.gui.keys import CONTROL_KEYS, Key, help_rows
from asgiscope.gui.model import Ranges
from asgiscope.gui.theme import BIG_TYPE, Colors, ThemeName, apply_theme
from asgiscope.server.lab.snapshot import Snapshot

if TYPE_CHECKING:
    from asgiscope.gui.window import MainWindow


PAD_PX = 12  # QLabel#keys padding in gui/theme.py


# Presentation mode on a screen shorter than this shows the caption's insight line only: at 1280x720
# the other lines took 200 px at big type and left the plots 25 px.
COMPACT_BELOW_PX = 900


class HelpOverlay(QLabel):
    """Every key, over the middle of the window; any click or Esc closes it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("keys")
        # two columns of keys side by side: the whole list fits a 1280x720 screen at big type
        cells = [
            f"<td><b>{escape(k)}</b>&nbsp;&nbsp;</td><td>{escape(w)}&nbsp;&nbsp;&nbsp;</td>"
            for k, w in help_rows()
        ]
        half = (len(cells) + 1) // 2
        rows = "".join(
            f"<tr>{a}{b}</tr>" for a, b in zip(cells[:half], [*cells[half:], ""][:half], strict=True)
        )
        self.setText(f"<b>Keys</b><table>{rows}</table>")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.hide()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.ensurePolished()  # the stylesheet's font, before measuring with it
        doc = QTextDocument()
        doc.setDefaultFont(self.font())
        doc.setHtml(self.text())
        pad = 2 * PAD_PX + 8  # the stylesheet's padding and border
        self.setWordWrap(True)
        parent = self.parentWidget()
        if parent is not None:
            # as wide as the text wants, never wider than the window: cells wrap instead
            width = min(parent.width() - 40, round(doc.idealWidth()) + pad)
            doc.setTextWidth(width - pad)
            self.setFixedSize(width, min(parent.height() - 20, round(doc.size().height()) + pad))
            self.move(
                max(0, (parent.width() - self.width()) // 2), max(0, (parent.height() - self.height()) // 2)
            )
        self.raise_()
        self.show()

    def mousePressEvent(self, _event: QEvent) -> None:  # type: ignore[override]
        self.hide()


class Presenter(QObject):
    def __init__(self, window: MainWindow, colors: Colors, cores: int) -> None:
        super().__init__(window)
        self.window = window
        self.colors = colors
        self.ranges = Ranges.for_cores(cores)
        self.frozen = False
        self.presenting = False
        self._was_full = False
        self.caption = QLabel()
        self.caption.setObjectName("tourcaption")
        self.caption.setWordWrap(True)
        self.caption.setContentsMargins(16, 6, 16, 10)
        self.caption.hide()
        central = window.centralWidget()
        layout = central.layout() if central is not None else None
        if layout is not None:
            layout.addWidget(self.caption)
        self.help = HelpOverlay(window)
        self.frozen_label = QLabel("frozen: the servers keep running (F)", window)
        self.frozen_label.setObjectName("stamp")
        self.frozen_label.hide()

        menu = window.menuBar().addMenu("&Present")
        self.act_present = self._action(menu, "Presentation mode", ("F5",), self.toggle_presentation)
        self.act_present.setCheckable(True)
        self.act_freeze = self._action(menu, "Freeze the picture", ("F",), self.toggle_freeze)
        self.act_freeze.setCheckable(True)
        self.act_help = self._action(menu, "Keys…", ("F1", "?"), self.help.toggle)
        self._action(menu, "Close the help", ("Esc",), self.help.hide, listed=False)
        self.act_light = self._action(
            menu, "Light theme (projector), from the next start", (), self.toggle_light
        )
        self.act_light.setCheckable(True)
        self.act_light.setChecked(colors.name == "light")
        keys = menu.addMenu("Controls")
        self.control_actions = [
            self._action(keys, key.words, key.keys, lambda k=key: self.press(k)) for key in CONTROL_KEYS
        ]

    def _action(self, menu, text, keys, slot, *, listed: bool = True) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self.window)
        action.setShortcuts([QKeySequence(k) for k in keys])
        # the window's keys, not the application's: a file dialog's text field keeps its digits
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        if listed:
            menu.addAction(action)
        self.window.addAction(action)  # works with the menu bar hidden
        return action

    def press(self, key: Key) -> None:
        """A control key: the panel changes as if clicked, and the Lab is asked for it."""
        before = self.window.controls.controls()
        after = key.change(before, self.ranges)
        if after != before:
            self.window.change_controls(after)

    def toggle_light(self) -> None:
        """Kept for the next start: plots and the flow panel take their colours when they are made."""
        name: ThemeName = "light" if self.act_light.isChecked() else "dark"
        if self.window.store is not None:
            self.window.store.save_theme(name)
        self.window.statusBar().showMessage(
            f"the {name} theme applies from the next start (or --theme)", 8000
        )

    def toggle_freeze(self) -> None:
        self.frozen = not self.frozen
        self.act_freeze.setChecked(self.frozen)
        self.frozen_label.adjustSize()
        self.frozen_label.move(self.window.width() - self.frozen_label.width() - 8, 8)
        self.frozen_label.setVisible(self.frozen)
        self.frozen_label.raise_()

    def toggle_presentation(self) -> None:
        w = self.window
        self.presenting = not self.presenting
        self.act_present.setChecked(self.presenting)
        for part in (w.dock, w.menuBar(), w.statusBar()):
            part.setVisible(not self.presenting)
        self.caption.setVisible(self.presenting)
        app = QApplication.instance()
        big = max(self.colors.type_scale, BIG_TYPE)
        if isinstance(app, QApplication):
            apply_theme(app, replace(self.colors, type_scale=big) if self.presenting else self.colors)
        w.plots.set_type_scale(big if self.presenting else self.colors.type_scale)
        # The caption under the picture shows the first insight: the bar above does not repeat it,
        # and is fitted again to its bigger type (it overflowed onto the tabs at 1280x720).
        w.insight.captioned = self.presenting
        w.insight.compact = self.presenting and w.screen().availableGeometry().height() < COMPACT_BELOW_PX
        w.insight.refit()
        w.show_last()
        w.fit_split()  # bigger titles and ticks need more height (already full screen: no resize)
        if self.presenting:
            self._was_full = w.isFullScreen()
            w.showFullScreen()
        elif not self._was_full:
            w.showNormal()

    def show_snapshot(self, snap: Snapshot) -> bool:
        """The caption in presentation mode: the Lab's first insight line."""
        text = snap.insights[0] if snap.insights else ""
        if not self.presenting or text == self.caption.text():
            return False
        self.caption.setText(text)
        return True
