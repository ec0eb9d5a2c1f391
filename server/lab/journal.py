"""What the Lab says about itself: its state in words, and what happened to the tree and the load, when."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from asgiscope.server.lab.snapshot import EventKind, LabState, Marker, TreeEvent

DEAD_SHOWN_S = 5.0  # a worker that exited stays on screen, marked dead, this long
SCENARIO_FIELDS = ("server", "workers", "loop", "http", "tokens", "socket")
LOAD_FIELDS = ("endpoint", "ms", "mode", "users", "rate", "engine", "connection")


def describe_change(old: object, new: object, fields: tuple[str, ...]) -> str:
    """ "workers 2→4, loop asyncio→uvloop" for the fields that differ."""
    parts = [f"{f} {getattr(old, f)}→{getattr(new, f)}" for f in fields if getattr(old, f) != getattr(new, f)]
    return ", ".join(parts)


class Journal:
    """State, events and markers, stamped with ``clock()`` (session seconds)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.state: LabState = "idle"
        self.message = ""
        self.events: deque[TreeEvent] = deque(maxlen=50)
        self.markers: deque[Marker] = deque(maxlen=200)
        self.logged = 0  # events ever logged: a change tells a reader the tree may have changed

    def set_state(self, state: LabState, message: str) -> None:
        self.state, self.message = state, message

    def event(self, kind: EventKind, pid: int, detail: str = "") -> None:
        self.events.append(TreeEvent(self._clock(), kind, pid, detail))
        self.logged += 1

    def marker(self, label: str) -> None:
        self.markers.append(Marker(self._clock(), label))

    def dead(self) -> tuple[int, ...]:
        """Workers that exited a moment ago, to be shown as dead for a while."""
        since = self._clock() - DEAD_SHOWN_S
        return tuple(e.pid for e in self.events if e.kind == "worker_exited" and e.t >= since)
