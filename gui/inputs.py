"""Two small input widgets the controls panel is built from: a labelled slider and a segmented choice."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class LabeledSlider(QWidget):
    """A slider whose value is shown beside its title; positions map to values through two functions.

    A QSlider holds ints, so a log-scale slider keeps positions 0..N and maps them to values here.
    ``moved`` fires on every step (the panel debounces); ``set_value`` never fires it. The label shows
    the value set, not the one its position stands for: a log slider rounds 1,234 users to a position
    that reads 1,200, and the label must say what runs.
    """

    moved = Signal(float)

    def __init__(
        self,
        title: str,
        lo: int,
        hi: int,
        *,
        to_value: Callable[[int], float] = float,
        to_position: Callable[[float], int] = round,
        fmt: Callable[[float], str] = lambda v: f"{v:g}",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._to_value = to_value
        self._to_position = to_position
        self._fmt = fmt
        self.title = QLabel(title)
        self.value_label = QLabel()
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setObjectName("value")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(lo, hi)
        # keyboard steps: one value for linear sliders, a visible step for log ones
        self.slider.setPageStep(max(1, (hi - lo) // 20))
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.value_label)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 2, 0, 2)
        box.setSpacing(1)
        box.addLayout(head)
        box.addWidget(self.slider)
        self.slider.valueChanged.connect(self._on_position)
        self._quiet = False
        self._value = self._to_value(self.slider.value())
        self._show(self._value)

    def value(self) -> float:
        """The value shown: the one last set, or the one the slider was moved to."""
        return self._value

    def set_value(self, value: float) -> None:
        self._quiet = True
        try:
            self.slider.setValue(self._to_position(value))
        finally:
            self._quiet = False
        self._value = value
        self._show(value)

    def set_range(self, lo: int, hi: int) -> None:
        before = self.slider.value()
        self._quiet = True
        try:
            self.slider.setRange(lo, hi)
        finally:
            self._quiet = False
        if self.slider.value() != before:  # clamped into the new range: show where it is now
            self._value = self._to_value(self.slider.value())
            self._show(self._value)

    def setToolTip(self, text: str) -> None:
        super().setToolTip(text)
        self.slider.setToolTip(text)

    def _on_position(self, position: int) -> None:
        if self._quiet:
            return  # set_value shows the value it was given
        self._value = value = self._to_value(position)
        self._show(value)
        self.moved.emit(value)

    def _show(self, value: float) -> None:
        self.value_label.setText(self._fmt(value))


class Choice(QWidget):
    """A row of exclusive buttons (a segmented control) for one of a few named values."""

    chosen = Signal(str)

    def __init__(self, title: str, options: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        """``options`` are (value, label) pairs, shown in order."""
        super().__init__(parent)
        self.title = QLabel(title)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        for value, label in options:
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setAutoRaise(False)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._group.addButton(button)
            self.buttons[value] = button
            row.addWidget(button, 1)
            button.clicked.connect(lambda _checked=False, v=value: self.chosen.emit(v))
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 2, 0, 2)
        box.setSpacing(1)
        box.addWidget(self.title)
        box.addLayout(row)

    def value(self) -> str:
        for value, button in self.buttons.items():
            if button.isChecked():
                return value
        return next(iter(self.buttons))

    def set_value(self, value: str) -> None:
        self.buttons[value].setChecked(True)

    def setToolTip(self, text: str) -> None:
        super().setToolTip(text)
        for button in self.buttons.values():
            button.setToolTip(text)

    def set_refused(self, refused: dict[str, str]) -> None:
        """Grey out the options in ``refused``, each with its reason as its tooltip (Qt shows tooltips
        on disabled buttons); the others are enabled with the control's own tooltip."""
        for value, button in self.buttons.items():
            why = refused.get(value)
            button.setEnabled(why is None)
            button.setToolTip(self.toolTip() if why is None else why)
