"""Every control from the keyboard: which key changes which control, and how (no Qt here).

Digits set the worker count, letters cycle a choice (skipping what the choices above it refuse, as
the panel greys it out), brackets and plus/minus halve or double a slider. Each entry has the words
the help overlay (F1 or ?) shows. Values are fitted to what the panel's sliders offer on this machine,
so a key can ask for nothing the panel could not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiscope.gui.model import CHOICE_KINDS, Controls, Ranges
from asgiscope.server.limits import choices


@dataclass(frozen=True, slots=True)
class Key:
    keys: tuple[str, ...]  # QKeySequence strings
    words: str
    change: Callable[[Controls, Ranges], Controls]


def cycle(name: str) -> Callable[[Controls, Ranges], Controls]:
    """The next choice of control ``name`` that works with the others, wrapping round."""

    def change(controls: Controls, _ranges: Ranges) -> Controls:
        words: tuple[Any, ...] = choices(CHOICE_KINDS[name])
        refused = controls.refused().get(name, {})
        at = words.index(getattr(controls, name))
        for step in range(1, len(words)):
            word = words[(at + step) % len(words)]
            if word not in refused:
                return controls.with_changes(**{name: word})
        return controls

    return change


def times(name: str, factor: float) -> Callable[[Controls, Ranges], Controls]:
    def change(controls: Controls, ranges: Ranges) -> Controls:
        value = getattr(controls, name) * factor
        return ranges.fit(controls.with_changes(**{name: Ranges.control_value(name, value)}))

    return change


def workers(n: int) -> Callable[[Controls, Ranges], Controls]:
    return lambda controls, ranges: ranges.fit(controls.with_changes(workers=n))


def load_size(factor: float) -> Callable[[Controls, Ranges], Controls]:
    """Users in a closed loop, the rate in an open one: whatever the load's size is now."""

    def change(controls: Controls, ranges: Ranges) -> Controls:
        return times("users" if controls.mode == "closed" else "rate", factor)(controls, ranges)

    return change


CONTROL_KEYS: tuple[Key, ...] = (
    *(Key((str(n),), f"{n} worker{'s' if n > 1 else ''}", workers(n)) for n in range(1, 10)),
    Key(
        ("H",),
        "next handler: await, threadpool, blocking call",
        cycle("handler"),
    ),
    Key(("W",), "work: I/O (sleep) or CPU (busy loop)", cycle("work")),
    Key(("S",), "server: uvicorn or gunicorn", cycle("server")),
    Key(("K",), "framework: fastapi, flask, django", cycle("framework")),
    Key(("G",), "gunicorn worker class", cycle("worker_class")),
    Key(("O",), "load: closed loop (users) or open loop (rate)", cycle("mode")),
    Key(("C",), "client engine", cycle("engine")),
    Key(("N",), "connections: new per request, ~1 s, forever", cycle("connection")),
    Key(("E",), "event loop: asyncio or uvloop", cycle("loop")),
    Key(("P",), "HTTP parser: h11 or httptools", cycle("http")),
    Key(("+", "="), "twice the users (or rate)", load_size(2.0)),
    Key(("-",), "half the users (or rate)", load_size(0.5)),
    Key(("]",), "twice the handler time", times("ms", 2.0)),
    Key(("[",), "half the handler time", times("ms", 0.5)),
    Key(("T",), "twice the threadpool tokens", times("tokens", 2.0)),
    Key(("Shift+T",), "half the threadpool tokens", times("tokens", 0.5)),
)
# Keys the window's own actions answer, listed in the help beside the control keys.
WINDOW_KEYS: tuple[tuple[str, str], ...] = (
    ("Space", "start or stop the load (the servers keep running)"),
    ("F", "freeze the picture (the servers keep running)"),
    ("F5", "presentation mode: controls hidden, big type, insight as caption"),
    ("F6", "start the built-in tour; Right / Left step through it"),
    ("Ctrl+E", "export again; Ctrl+Shift+E the export dialog"),
    ("F11", "full screen"),
    ("F1, ?", "this help; Esc closes it"),
)


def help_rows() -> list[tuple[str, str]]:
    """(keys, words) per line of the help: the digits once, as one line."""
    rows = [(" / ".join(k.keys), k.words) for k in CONTROL_KEYS if not k.keys[0].isdigit()]
    return [*WINDOW_KEYS, ("1 … 9", "that many workers"), *rows]
