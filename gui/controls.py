"""The controls panel: every knob of the scenario and the load, each with a tooltip saying what it does.

It holds a ``Controls`` value and emits ``changed(Controls)`` when the user changes one. Sliders are
debounced (a drag is one change, not fifty); toggles emit at once. It never talks to the Lab.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from asgiscope.gui.inputs import Choice, LabeledSlider
from asgiscope.gui.model import (
    CHOICE_KINDS,
    TITLES,
    Controls,
    Ranges,
    Scale,
    as_load_processes,
    load_process_options,
    options,
)

DEBOUNCE_MS = 250

TIPS: dict[str, str] = {
    "workers": "Worker processes serving requests. Changed live: the master gets SIGTTIN / SIGTTOU "
    "and forks or stops one worker per step, no restart. More workers than cores do not help: "
    "they take turns on the same cores (and cost context switches).",
    "users": "Closed loop: virtual users, each sends its next request only after its response "
    "arrived. Changed live in the load process; the server is untouched.",
    "rate": "Open loop: requests per second sent on a fixed schedule, whether or not responses came "
    "back; latency counts from the intended send time. Changed live in the load process.",
    "ms": "How long each handler works (sleeps or spins) per request. Part of the URL (?ms=), so it "
    "changes at once, without touching the server.",
    "tokens": "Threadpool size per worker: how many `def` handlers one worker runs at once (anyio's "
    "CapacityLimiter, default 40). Changing it restarts the server tree.",
    "handler": "How the endpoint is written: `async def` that awaits, plain `def` that runs in the "
    "threadpool, or `async def` that makes a blocking call and stalls the event loop. "
    "Switches the route the load hits; no restart.",
    "work": "What the handler does for `ms`: wait on I/O (sleep, releases the GIL) or burn CPU in "
    "Python (holds the GIL). Switches the route; no restart.",
    "framework": "The web framework serving the same routes: FastAPI (ASGI), Flask (WSGI) or Django "
    "(both: its async def views need ASGI). Restarts the server tree.",
    "server": "uvicorn's own supervisor or a gunicorn arbiter. Restarts the server tree.",
    "worker_class": "gunicorn's worker: uvicorn (an event loop per process, ASGI), sync (one request at "
    "a time per process, a new connection each) or gthread (a pool of threadpool-tokens threads per "
    "process). Restarts the server tree.",
    "loop": "The event loop inside each worker: the standard asyncio loop or uvloop. Restarts the "
    "server tree.",
    "http": "The HTTP/1.1 parser inside each worker: h11 (pure Python) or httptools (C). Restarts "
    "the server tree.",
    "socket": "gunicorn only: one listening socket shared by all workers (the kernel hands "
    "connections out unevenly) or one SO_REUSEPORT socket per worker (hashed evenly). "
    "Restarts the server tree.",
    "engine": "The HTTP client in the load process: raw (asyncio + httptools parser, ~40 µs CPU per "
    "request, the fastest), aiohttp (~105 µs) or httpx (~800 µs: it becomes the bottleneck). "
    "Changed live; the server is untouched.",
    "load_processes": "How many load processes share the users and the rate, each on its own core: "
    "auto starts as many as the client bound needs (one raw process tops out near 1 / its CPU per "
    "request), never more than the cores. A change regroups them while the load runs.",
    "connection": "How long each user keeps its keep-alive connection. A connection stays with the "
    "worker that accepted it, so a worker added live only gets new ones: with ~1 s (the default) it "
    "gets its share within a second; 'forever' (like wrk) leaves it idle; 'new per request' pays a TCP "
    "connect every time. Changed live in the load process.",
    "mode": "Closed loop (N users that wait for each response) or open loop (a fixed request rate "
    "that keeps sending while the server stalls). Changed live in the load process.",
}


class ControlsPanel(QWidget):
    changed = Signal(object)  # Controls

    def __init__(self, controls: Controls, cores: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controls = controls
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)

        ranges = Ranges.for_cores(cores)
        self.workers = _slider("workers", ranges.workers, lambda v: f"{v:.0f}")
        self.users = _slider("users", ranges.users, lambda v: f"{v:,.0f}")
        self.rate = _slider("rate", ranges.rate, lambda v: f"{v:,g} req/s")  # 1,234.5 as it runs
        self.ms = _slider("ms", ranges.ms, lambda v: f"{v:.0f} ms")
        self.ms.slider.setSingleStep(5)
        self.tokens = _slider("tokens", ranges.tokens, lambda v: f"{v:.0f} / worker")
        self.sliders: dict[str, LabeledSlider] = {
            "workers": self.workers,
            "users": self.users,
            "rate": self.rate,
            "ms": self.ms,
            "tokens": self.tokens,
        }
        self.choices: dict[str, Choice] = {name: Choice(TITLES[name], options(name)) for name in CHOICE_KINDS}
        # auto, or 1 up to the cores: not a Literal, so kept beside the choices (its words are strings)
        self.load_processes = Choice(TITLES["load_processes"], load_process_options(cores))
        # the handler labels are long: stack them
        handler = self.choices["handler"]
        handler.layout().itemAt(1).layout().setDirection(QVBoxLayout.Direction.TopToBottom)  # type: ignore[union-attr]

        box = QVBoxLayout(self)
        box.setContentsMargins(8, 6, 8, 6)
        box.setSpacing(4)
        box.addWidget(_heading("Load"))
        for name in ("mode", "users", "rate"):
            box.addWidget(self._input(name))
        box.addWidget(self.choices["engine"])
        box.addWidget(self.choices["connection"])
        box.addWidget(self.load_processes)
        box.addWidget(_heading("Endpoint"))
        for name in ("handler", "work", "ms"):
            box.addWidget(self._input(name))
        box.addWidget(_heading("Server"))
        for name in ("framework", "workers", "tokens", "server", "worker_class", "socket", "loop", "http"):
            box.addWidget(self._input(name))
        box.addStretch(1)

        for name, tip in TIPS.items():
            self._input(name).setToolTip(tip)
        for name, slider in self.sliders.items():
            slider.moved.connect(partial(self._slid, name))
        for name, choice in self.choices.items():
            choice.chosen.connect(partial(self._chose, name))
        self.load_processes.chosen.connect(
            lambda word: self._chose("load_processes", as_load_processes(word))
        )
        self.set_controls(controls)

    def controls(self) -> Controls:
        return self._controls

    def set_controls(self, controls: Controls) -> None:
        """Show ``controls`` without emitting (restore, or the Lab refusing a change)."""
        self._debounce.stop()
        self._controls = controls
        for name, slider in self.sliders.items():
            slider.set_value(getattr(controls, name))
        for name, choice in self.choices.items():
            choice.set_value(getattr(controls, name))
        self.load_processes.set_value(str(controls.load_processes))
        self._enable()

    def flush(self) -> None:
        """Emit a pending slider change now (before quitting, or in tests)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit()

    def _input(self, name: str) -> QWidget:
        if name == "load_processes":
            return self.load_processes
        return self.sliders.get(name) or self.choices[name]

    def _slid(self, name: str, value: float) -> None:
        self._update(name, Ranges.control_value(name, value))
        self._debounce.start()  # restart: emit once the slider rests

    def _chose(self, name: str, value: Any) -> None:
        self._update(name, value)
        self._debounce.stop()
        self._emit()

    def _update(self, name: str, value: Any) -> None:
        self._controls = self._controls.with_changes(**{name: value})
        # with_changes may move the socket, server, worker class and handler to ones that work
        for moved in ("socket", "server", "worker_class", "handler"):
            self.choices[moved].set_value(getattr(self._controls, moved))
        self._enable()

    def _enable(self) -> None:
        c = self._controls
        for name, refused in c.refused().items():
            self.choices[name].set_refused(refused)
        self.choices["socket"].setEnabled(c.socket_enabled)
        self.users.setEnabled(c.mode == "closed")
        self.rate.setEnabled(c.mode == "open")

    def _emit(self) -> None:
        self.changed.emit(self._controls)


def _slider(name: str, scale: Scale, fmt: Callable[[float], str]) -> LabeledSlider:
    lo, hi = scale.positions
    return LabeledSlider(TITLES[name], lo, hi, to_value=scale.value, to_position=scale.position, fmt=fmt)


def _heading(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("heading")
    label.setFrameShape(QFrame.Shape.NoFrame)
    return label
