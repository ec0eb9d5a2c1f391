"""What the Lab says about itself: its state in words, and what happened to the tree and the load, when."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from asgiscope.server.lab.snapshot import EventKind, LabState, Marker, TreeEvent

DEAD_SHOWN_S = 5.0  # a worker that exited stays on screen, marked dead, this long
SCENARIO_FIELDS = ("server", "workers", "loop", "http", "tokens", "socket")
LOAD_FIELDS = ("endpoint", "ms", "mode", "users", "rate", "engine", "connection", "load_processes")


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
        self.load_since = 0.0  # session seconds: deaths since then explain what the load measures

    def load_started(self) -> None:
        """The load was turned on: deaths from before are not this run's."""
        self.load_since = self._clock()

    def failures(self) -> tuple[TreeEvent, ...]:
        """What died since the load was turned on, oldest first."""
        return tuple(e for e in self.events if e.failure and e.t >= self.load_since)

    def set_state(self, state: LabState, message: str) -> None:
        self.state, self.message = state, message

    def event(self, kind: EventKind, pid: int, detail: str = "", code: int | None = None) -> None:
        self.events.append(TreeEvent(self._clock(), kind, pid, detail, code))
        self.logged += 1

    def marker(self, label: str) -> None:
        self.markers.append(Marker(self._clock(), label))

    def dead(self) -> tuple[int, ...]:
        """Workers that exited a moment ago, to be shown as dead for a while."""
        since = self._clock() - DEAD_SHOWN_S
        gone = ("worker_exited", "worker_retired")
        return tuple(e.pid for e in self.events if e.kind in gone and e.t >= since)
