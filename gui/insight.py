"""The insight bar: the headline numbers, the Lab's plain-language lines, and every warning.

It shows what the Snapshot says in words a talk audience reads from the back row: measured against
predicted, the limit that binds, whether the client (not the server) is the bottleneck, telemetry
loss and errors. The sentences themselves come from the Lab (``snapshot.insights``).
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from asgiscope.server.lab.insight import telemetry_warning
from asgiscope.server.lab.snapshot import Snapshot

STATE_WORDS = {
    "idle": "idle",
    "starting": "starting servers…",
    "running": "running",
    "restarting": "restarting the server tree…",
    "stopping": "stopping…",
    "stopped": "stopped",
    "error": "error",
}


def _num(value: float, unit: str = "", digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "\u2013"
    return f"{value:,.{digits}f}{unit}"


BASE_LINES = 4
SHRINK_AFTER_S = 3.0  # the bar gives back a line only after the text has not needed it this long


class Stat(QWidget):
    """One headline number with a caption under it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = QLabel("\u2013")
        self.value.setObjectName("big")
        self.caption = QLabel(caption)
        self.caption.setObjectName("caption")
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 0, 10, 0)
        box.setSpacing(0)
        box.addWidget(self.value)
        box.addWidget(self.caption)

    def set_text(self, text: str) -> None:
        self.value.setText(text)


class InsightBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insight")
        self.client = Stat("client req/s")
        self.server = Stat("server req/s")
        self.predicted = Stat("predicted req/s")
        self.p50 = Stat("p50 latency")
        self.p99 = Stat("p99 latency")
        self.state = QLabel()
        self.state.setObjectName("caption")
        self.lines = QLabel()
        self.lines.setWordWrap(True)
        self.lines.setTextFormat(Qt.TextFormat.PlainText)
        self.warning = QLabel()
        self.warning.setObjectName("warn")
        self.warning.setWordWrap(True)
        self.errors = QLabel()
        self.errors.setObjectName("error")
        self.errors.setWordWrap(True)

        stats = QHBoxLayout()
        stats.setSpacing(0)
        for stat in (self.client, self.server, self.predicted, self.p50, self.p99):
            stats.addWidget(stat)
        words = QVBoxLayout()
        words.setSpacing(2)
        self.state.setWordWrap(True)
        for label in (self.state, self.lines, self.warning, self.errors):
            # a long word (the URL) at big type made the bar 1,284 px wide: wrap, never widen
            label.setMinimumWidth(1)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            words.addWidget(label)
        words.addStretch(1)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.addLayout(stats, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addLayout(words, 0, 1)
        grid.setColumnStretch(1, 1)
        # A fixed height, changed only when the text needs a line more or less (_fit): a resized
        # plot scene below repaints in full, ~25 ms at the load ceiling. The base has room for the
        # state and three lines of insight (the usual); more grow it. Eight lines cost the plots
        # 70 px they need on a 720-line screen.
        self._base_height = self.fontMetrics().lineSpacing() * BASE_LINES + 16
        self._words = words
        self.setFixedHeight(self._base_height)
        self._shown: tuple[str, ...] = ()  # the texts on screen (see _texts)
        self._fitted_width = -1  # the width _fit last saw
        self._roomy_since: float | None = None  # since when the text has needed a line less
        self.captioned = False  # presentation mode: its caption shows the first insight line
        self.compact = False  # ...and on a short screen the other lines give their room to the picture

    def refit(self) -> None:
        """Fit the bar again after its type changed size (presentation mode's big type): the lines
        wrap differently, and the base height is in lines."""
        self._base_height = self.lines.fontMetrics().lineSpacing() * BASE_LINES + 16
        self._shown, self._fitted_width, self._roomy_since = (), -1, None
        self.setFixedHeight(self._base_height)

    def _fit(self) -> None:
        """Room for all the text as wrapped at the current width, never less than the base height.

        The height changes only when the text needs a line more, or a line less for SHRINK_AFTER_S: each
        change re-lays-out and repaints every plot below (~25 ms), and a line that comes and goes with
        the numbers (a warning near its threshold) must not do that every few frames.
        """
        width = self.lines.width()
        if width <= 0 or not self.isVisible():
            return
        labels = [w for w in (self.state, self.lines, self.warning, self.errors) if not w.isHidden()]
        needed = sum(label.heightForWidth(width) for label in labels)
        needed += self._words.spacing() * max(len(labels) - 1, 0) + 16
        target = max(self._base_height, needed)
        if target > self.height():
            self.setFixedHeight(target)
            self._roomy_since = None
        elif target < self.height() - self.fontMetrics().lineSpacing():
            now = time.monotonic()
            if self._roomy_since is None:
                self._roomy_since = now
            if now - self._roomy_since >= SHRINK_AFTER_S:
                self.setFixedHeight(target)
                self._roomy_since = None
        else:
            self._roomy_since = None

    def show_snapshot(self, snap: Snapshot) -> bool:
        """Show what ``snap`` says; returns whether any text changed. Unchanged text is not set again:
        each change costs a relayout and a repaint of the bar."""
        texts = _texts(snap, captioned=self.captioned, rest=not self.compact)
        width = self.lines.width()
        if texts == self._shown and width == self._fitted_width:
            if self._roomy_since is not None:
                self._fit()  # a line no longer needed is given back once it has stayed unneeded
            return False
        changed = texts != self._shown
        self._shown, self._fitted_width = texts, width
        numbers = (self.client, self.server, self.predicted, self.p50, self.p99)
        *values, head, lines, warning, errors = texts
        for stat, value in zip(numbers, values, strict=True):
            stat.set_text(value)
        self.state.setText(head)
        self.lines.setText(lines)
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))
        self.errors.setText(errors)
        self.errors.setVisible(bool(errors))
        self._fit()
        return changed


def _texts(snap: Snapshot, captioned: bool = False, rest: bool = True) -> tuple[str, ...]:
    """Every text the bar shows: the five numbers, the state line, insights, warnings, errors; with
    ``captioned``, not the first insight (presentation mode's caption shows it), and without ``rest``
    none of the others either (presentation mode on a short screen: the picture needs the room)."""
    numbers = (
        _num(snap.client_rps),
        _num(snap.server_rps),
        _num(snap.prediction.throughput_rps) if snap.prediction else "\u2013",
        _num(snap.latency.p50_ms, " ms"),
        _num(snap.latency.p99_ms, " ms"),
    )
    state = STATE_WORDS.get(snap.state, snap.state)
    load = "load running" if snap.load_running else "load stopped (Space starts it)"
    head = f"{state} · {load}"
    if snap.url:
        head += f" · {snap.url}"

    lines = list(snap.insights[1:] if captioned else snap.insights) if rest else []
    if snap.message:
        lines.insert(0, snap.message)

    warnings = []
    if snap.client_bound is not None:
        warnings.append(f"The client is the bottleneck, not the server: {snap.client_bound.reason}.")
    tel = snap.telemetry
    told = telemetry_warning(tel.lost, tel.rejected, tel.datagrams)
    if told is not None:
        warnings.append(told)

    errors = ""
    if snap.errors:
        parts = ", ".join(f"{kind} {count:,}" for kind, count in sorted(snap.errors.items()))
        errors = f"Errors since the load started: {parts}"
    return (*numbers, head, "\n".join(lines), "\n".join(warnings), errors)
