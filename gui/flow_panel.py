"""The flow view with its presenter's bar: live, slow motion (1/10, 1/100), pause, single steps and a
timeline over the kept 30 s. The playhead (server/lab/flow_replay.py) holds where in time it is; the
Lab draws the frame there; this panel only passes clicks on and shows what it gets."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from asgiscope.gui.flow_view import FlowView
from asgiscope.gui.theme import Colors
from asgiscope.server.lab.flow import FlowFrame
from asgiscope.server.lab.flow_replay import SPEEDS, Playhead
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.lab.traced import Traced

TIMELINE_STEPS = 1000
FOLLOW_SPEED = 0.1  # a request sent on demand is replayed at 1/10 from just before it was sent
FOLLOW_LEAD_NS = 100_000_000
CAPTION_S = 0.2
# The drawing's least height when the window has room, and when it has not (a 1280x720 screen at big
# type): the plots below need the rest (gui/split.py). At 160 px four workers still get a row each with
# its header; 32 get rows of a loop, a queue and a pool meter.
VIEW_PX = 160
VIEW_MIN_PX = 120
LIVE_TIP = "a request is drawn once its worker reported it, so live runs a little behind now"


class ElidedLabel(QLabel):
    """One line that ends in "…" when the bar is short of room, instead of widening the window: at big
    type the caption's full sentence alone pushed a 1280 px wide window to 1580 px."""

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter = QPainter(self)
        align = int(self.alignment() | Qt.AlignmentFlag.AlignVCenter)
        self.style().drawItemText(
            painter, rect, align, self.palette(), self.isEnabled(), text, self.foregroundRole()
        )


def speed_words(speed: float) -> str:
    return "live" if speed == 1.0 else f"1/{round(1 / speed)}"


class FlowPanel(QWidget):
    send_one_requested = Signal()  # the presenter asked to trace one real request

    def __init__(self, colors: Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.playhead = Playhead()
        self.view = FlowView(colors)
        self.view.setMinimumHeight(VIEW_MIN_PX)
        self._span = (0, 0)  # the timeline's ends, ns
        self._caption_at = -1e9  # when the caption's words last changed (monotonic s)
        self.bar = QWidget()  # the presenter's controls, under the drawing
        bar = QHBoxLayout(self.bar)
        bar.setContentsMargins(6, 2, 6, 2)
        self.speed_buttons: dict[float, QToolButton] = {}
        for speed in SPEEDS:
            button = QToolButton()
            button.setText(speed_words(speed))
            button.setCheckable(True)
            button.setToolTip(
                "follow what happens now" if speed == 1.0 else f"replay at {speed_words(speed)} speed"
            )
            button.clicked.connect(lambda _c=False, s=speed: self.set_speed(s))
            bar.addWidget(button)
            self.speed_buttons[speed] = button
        self.pause_button = QToolButton()
        self.pause_button.setText("pause")
        self.pause_button.setCheckable(True)
        self.pause_button.clicked.connect(self.toggle_pause)
        back, forward = QToolButton(), QToolButton()
        back.setText("◀ step")
        forward.setText("step ▶")
        back.clicked.connect(lambda: self.step(-1))
        forward.clicked.connect(lambda: self.step(1))
        self.send_button = QToolButton()
        self.send_button.setText("send one request")
        self.send_button.setToolTip("send one real request now and follow it through, slowed to 1/10")
        self.send_button.clicked.connect(self.send_one_requested.emit)
        for b in (self.pause_button, back, forward, self.send_button):
            bar.addWidget(b)
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setRange(0, TIMELINE_STEPS)
        self.timeline.setToolTip("scrub through the last 30 s")
        self.timeline.sliderMoved.connect(self._scrub)
        bar.addWidget(self.timeline, 1)
        self.where = ElidedLabel()
        self.where.setObjectName("caption")
        self.where.setToolTip(LIVE_TIP)
        bar.addWidget(self.where)
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(0)
        self._box.addWidget(self.view, 1)
        self._box.addWidget(self.bar)
        self._sync_buttons()

    def take_bar(self) -> QWidget:
        """The presenter's bar, out of this panel's layout for its owner to place (the window puts
        it beside its tabs); the bar's buttons keep working on this panel."""
        self._box.removeWidget(self.bar)
        return self.bar

    # -- presenter's controls --------------------------------------------------------------------
    def set_speed(self, speed: float) -> None:
        now = time.monotonic_ns()
        if speed == 1.0:
            self.playhead.go_live()
        else:
            # slow motion starts a moment back, so what just happened is seen again slowly
            back = 0 if not self.playhead.state().live else 2_000_000_000
            self.playhead.replay(now, speed, back_ns=back)
        self._sync_buttons()

    def toggle_pause(self) -> None:
        now = time.monotonic_ns()
        if self.playhead.state().paused:
            self.playhead.resume(now)
        else:
            self.playhead.pause(now)
        self._sync_buttons()

    def step(self, steps: int) -> None:
        self.playhead.step(time.monotonic_ns(), steps)
        self._sync_buttons()

    def follow(self, traced: Traced) -> None:
        """Replay from just before ``traced`` was sent, slowly, so it can be narrated."""
        self.playhead.replay_from(time.monotonic_ns(), traced.sent_ns - FOLLOW_LEAD_NS, FOLLOW_SPEED)
        self._sync_buttons()

    def _scrub(self, value: int) -> None:
        lo, hi = self._span
        self.playhead.seek(time.monotonic_ns(), lo + (hi - lo) * value // TIMELINE_STEPS)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        state = self.playhead.state()
        for speed, button in self.speed_buttons.items():
            button.setChecked(speed == state.speed and (state.live or speed != 1.0) and not state.paused)
        self.pause_button.setChecked(state.paused)

    # -- showing ---------------------------------------------------------------------------------
    def show_frame(self, frame: FlowFrame, snap: Snapshot) -> bool:
        """Draw ``frame``; whether the panel is still moving (frames should keep coming)."""
        state = self.playhead.state()
        behind = self.playhead.delay_ns / 1e9
        if state.live:
            caption = f"live, {behind:.1f} s behind"  # why: LIVE_TIP
        else:
            word = "paused" if state.paused else f"replay at {speed_words(state.speed)}"
            caption = f"{word}, {(time.monotonic_ns() - behind * 1e9 - frame.t_ns) / 1e9:.2f} s before live"
        if frame.in_flight > frame.drawn:
            # after the state, which is what must stay when the bar is short of room (elided)
            caption += f"  ·  drawing {frame.drawn} of {frame.in_flight:,} requests in flight"
        port = snap.url.rsplit(":", 1)[-1] if snap.url else ""
        self.view.socket_label = f"listening socket :{port}" if port else "listening socket"
        load = snap.load
        self.view.clients_label = f"{load.users} users" if load.mode == "closed" else f"{load.rate:g} req/s"
        self.view.show_frame(frame, caption)
        lo, hi = frame.oldest_ns, time.monotonic_ns() - self.playhead.delay_ns
        self._span = (lo, hi)
        if not self.timeline.isSliderDown() and hi > lo:
            value = round((frame.t_ns - lo) / (hi - lo) * TIMELINE_STEPS)
            if value != self.timeline.value():
                self.timeline.blockSignals(True)
                self.timeline.setValue(value)
                self.timeline.blockSignals(False)
        # words at 5 Hz and only when they change: a label's new text relayouts the bar (measurable at
        # 30 frames a second, as the count of requests in flight changes every frame)
        now = time.monotonic()
        if caption != self.where.text() and now - self._caption_at >= CAPTION_S:
            self.where.setText(caption)
            self._caption_at = now
        # a repaint of a still picture (a caption's new words) needs no next frame
        return frame.drawn > 0 or not (state.live or state.paused)
