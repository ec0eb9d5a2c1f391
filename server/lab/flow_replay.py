"""Where the flow panel is in time: live (a little behind now) or replaying the kept 30 s slowly.

Live, the playhead runs ``delay`` behind the clock: a request's record arrives only once it ended and
its worker flushed, so drawing any closer to now would leave out requests still in flight. The delay
follows the slowest recent request and the telemetry's own lateness: it grows at once and shrinks
slowly, so the picture never jumps back. In replay the playhead moves at ``speed`` (1/10, 1/100),
pauses, steps and scrubs, always inside what is kept. Pure bookkeeping on monotonic nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from asgiscope.server.lab.flow import TRANSIT_NS

SPEEDS: Final[tuple[float, ...]] = (1.0, 0.1, 0.01)  # live/normal, 1/10, 1/100
MIN_DELAY_NS: Final = 500_000_000
MAX_DELAY_NS: Final = 5_000_000_000
SHRINK_PER_S: Final = 0.2  # the delay comes down by at most 0.2 s per second
STEP_NS: Final = 10_000_000  # one single step: 10 ms of what happened


@dataclass(frozen=True, slots=True)
class PlayState:
    live: bool
    paused: bool
    speed: float
    t_ns: int  # where the playhead is


class Playhead:
    def __init__(self) -> None:
        self._live = True
        self._paused = False
        self._speed = 1.0
        self._delay = MIN_DELAY_NS
        self._delay_at = 0
        self._anchor_t = 0  # replay: playhead time at the anchor...
        self._anchor_now = 0  # ...and the clock then
        self._last = 0

    # ---- live delay --------------------------------------------------------------------------
    def follow(self, now_ns: int, needed_ns: int) -> None:
        """How far behind now the picture must be to know every request in flight (``needed_ns``)."""
        target = min(MAX_DELAY_NS, max(MIN_DELAY_NS, needed_ns))
        if target >= self._delay or not self._delay_at:
            self._delay = target
        else:
            self._delay = max(target, self._delay - int((now_ns - self._delay_at) * SHRINK_PER_S))
        self._delay_at = now_ns

    @property
    def delay_ns(self) -> int:
        return self._delay

    # ---- controls ----------------------------------------------------------------------------
    def position(self, now_ns: int, oldest_ns: int) -> int:
        """Where to draw at clock time ``now_ns``; ``oldest_ns``: the earliest time still kept."""
        edge = now_ns - self._delay
        if self._live:
            t = edge
        elif self._paused:
            t = self._anchor_t
        else:
            t = self._anchor_t + int((now_ns - self._anchor_now) * self._speed)
        t = min(max(t, oldest_ns), edge)
        self._last = t
        return t

    def state(self) -> PlayState:
        return PlayState(self._live, self._paused, self._speed, self._last)

    @property
    def transit_ns(self) -> int:
        """Socket → worker and back take the same time on screen at any speed."""
        return max(1, int(TRANSIT_NS * (1.0 if self._live else self._speed)))

    def replay(self, now_ns: int, speed: float, *, back_ns: int = 0) -> None:
        """Slow motion from where the playhead is (``back_ns`` earlier), at ``speed`` of real time."""
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, got {speed}")
        self._anchor_t, self._anchor_now = self._last - back_ns, now_ns
        self._live, self._paused, self._speed = speed == 1.0 and not back_ns, False, speed

    def replay_from(self, now_ns: int, t_ns: int, speed: float) -> None:
        """Slow motion from ``t_ns`` (a request sent on demand, to follow it from its start)."""
        self.replay(now_ns, speed)
        self._anchor_t = self._last = t_ns

    def pause(self, now_ns: int) -> None:
        self._anchor_t, self._anchor_now = self._last, now_ns
        self._live, self._paused = False, True

    def resume(self, now_ns: int) -> None:
        self._anchor_t, self._anchor_now = self._last, now_ns
        self._paused = False

    def step(self, now_ns: int, steps: int = 1) -> None:
        """Pause and move by ``steps`` single steps (negative: back)."""
        self.pause(now_ns)
        self._anchor_t = self._last = self._last + steps * STEP_NS

    def seek(self, now_ns: int, t_ns: int) -> None:
        """Scrub: jump to ``t_ns`` and keep the current speed (paused stays paused)."""
        self._anchor_t, self._anchor_now, self._last = t_ns, now_ns, t_ns
        self._live = False

    def go_live(self) -> None:
        self._live, self._paused, self._speed = True, False, 1.0
