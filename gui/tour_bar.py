"""The tour bar (presenter mode): a step's claim, where the tour is, and the verdict measured live.

Next and Previous answer Right / Left and Page Down / Page Up, which presentation clickers send; the
keys belong to the tour only while the bar is shown, so the panel's sliders keep their arrows otherwise.
Going to a step asks for its scenario and load (``wanted``); a step's scripted changes are asked for
when they come due. The window applies them through the same path as the controls; the verdict's
words come from ``server.verdict``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.tour import Step, Tour
from asgiscope.server.verdict import tour_line

NEXT_KEYS = ("Right", "PgDown")
PREVIOUS_KEYS = ("Left", "PgUp")


class TourBar(QFrame):
    wanted = Signal(object, object)  # (Scenario, LoadSpec): what the step runs from now on
    ended = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tour")
        self._tour: Tour | None = None
        self._index = -1
        # what the step runs now (its own scenario and load, or its last scripted change's)
        self._scenario = Scenario()
        self._load = LoadSpec()
        self._timers: list[QTimer] = []

        self.where = QLabel()
        self.where.setObjectName("caption")
        self.caption = QLabel()
        self.caption.setObjectName("tourcaption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.previous_button = self._button("◀ Previous", "Previous step (Left, Page Up)", self.previous)
        self.next_button = self._button("Next ▶", "Next step (Right, Page Down)", self.next)
        self.end_button = self._button("End tour", "Leave the tour; the panel keeps what runs", self.end)

        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.where)
        text.addWidget(self.caption)
        text.addWidget(self.verdict)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.addLayout(text, 1)
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        row.addWidget(self.end_button)

        # Application-wide, so a clicker works wherever the focus is; only while the bar is shown.
        self.act_next = self._shortcut(NEXT_KEYS, self.next)
        self.act_previous = self._shortcut(PREVIOUS_KEYS, self.previous)
        self.hide()

    def _button(self, text: str, tip: str, slot) -> QToolButton:  # type: ignore[no-untyped-def]
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _shortcut(self, keys: tuple[str, ...], slot) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    # -- the tour --------------------------------------------------------------------------------

    @property
    def tour(self) -> Tour | None:
        return self._tour

    @property
    def index(self) -> int:
        """The step shown, from 0; -1 without a tour."""
        return self._index

    @property
    def step(self) -> Step | None:
        return self._tour.steps[self._index] if self._tour is not None and self._index >= 0 else None

    def start(self, tour: Tour, index: int = 0) -> None:
        self._tour = tour
        self._index = -1
        self.show()
        self.go(index)

    def end(self) -> None:
        self._stop_timers()
        self._tour, self._index = None, -1
        self.hide()
        self.ended.emit()

    def next(self) -> None:
        self.go(self._index + 1)

    def previous(self) -> None:
        self.go(self._index - 1)

    def go(self, index: int) -> None:
        """Show step ``index`` and ask for what it runs; past either end nothing happens."""
        if self._tour is None or not 0 <= index < len(self._tour.steps) or index == self._index:
            return
        self._stop_timers()
        self._index = index
        step = self._tour.steps[index]
        n = len(self._tour.steps)
        self.where.setText(f"{self._tour.title} · step {index + 1} of {n} · {step.title}")
        self.caption.setText(step.caption)
        self.previous_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < n - 1)
        self._want(step.scenario, step.load)
        for change in step.changes:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda c=change: self._want(c.scenario, c.load))
            timer.start(round(change.at_s * 1000))
            self._timers.append(timer)

    def _want(self, scenario: Scenario, load: LoadSpec) -> None:
        self._scenario, self._load = scenario, load
        self.verdict.setText("")
        self.wanted.emit(scenario, load)

    def _stop_timers(self) -> None:
        for timer in self._timers:
            timer.stop()
            timer.deleteLater()
        self._timers.clear()

    # -- rendering -------------------------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot) -> bool:
        """Show the live verdict; returns whether the text changed."""
        if self._tour is None:
            return False
        line, verdict = tour_line(snap, self._scenario, self._load)
        name = "verdict" if verdict is None else ("ok" if verdict.within else "error")
        tip = verdict.explanation if verdict is not None else ""
        if (line, name, tip) == (self.verdict.text(), self.verdict.objectName(), self.verdict.toolTip()):
            return False
        self.verdict.setText(line)
        self.verdict.setToolTip(tip)
        if name != self.verdict.objectName():
            self.verdict.setObjectName(name)
            self.verdict.style().unpolish(self.verdict)
            self.verdict.style().polish(self.verdict)
        return True
