"""When each plot is worth redrawing: pure bookkeeping, no Qt.

A redraw costs a few milliseconds of CPU per plot (a new path, an antialiased repaint), so a plot is
redrawn only when it would look different: it has a sample it has not shown, and either its shape
changed (workers, markers or the load came or went), or time has scrolled its curves by at least a
pixel since it was drawn. Sooner, the curves would move by a fraction of a pixel. With the load
stopped nothing an audience watches moves fast, and the plots advance once a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

IDLE_REDRAW_S = 1.0


@dataclass(frozen=True, slots=True)
class Sample:
    """What a plot's picture depends on, besides the time it is drawn at."""

    length: int  # samples in the series
    last_t: float  # session time of the newest one
    workers: int
    markers: int
    load_running: bool

    def same_shape(self, other: Sample) -> bool:
        return (self.workers, self.markers, self.load_running) == (
            other.workers,
            other.markers,
            other.load_running,
        )


class Pacer:
    """Keeps, per plot, the sample and time it was last drawn at, and the queue of plots to draw."""

    def __init__(self, names: Iterable[str], *, idle_s: float = IDLE_REDRAW_S) -> None:
        self._names = tuple(names)
        self._idle_s = idle_s
        self._shown: dict[str, tuple[Sample, float]] = {}
        self.stale: list[str] = []  # in drawing order

    def mark(self, sample: Sample, t: float, step: Callable[[str], float], *, now: bool = False) -> None:
        """Queue the plots worth redrawing at session time ``t``. ``step(name)`` is how many seconds
        of scrolling move that plot by one pixel (0 for a plot that does not scroll); ``now`` queues
        every plot with a sample it has not shown, paced or not (tests, exports)."""
        for name in self._names:
            if name in self.stale:
                continue
            shown = self._shown.get(name)
            if shown is None:
                self.stale.append(name)
                continue
            before, at = shown
            if before == sample:
                continue
            wait = step(name) if sample.load_running else self._idle_s
            if now or not sample.same_shape(before) or t - at >= wait:
                self.stale.append(name)

    def take(self, sample: Sample, t: float) -> str:
        """The next plot to draw, now recorded as showing ``sample`` at ``t``."""
        name = self.stale.pop(0)
        self._shown[name] = (sample, t)
        return name


STEPS_FPS = (30.0, 20.0)  # the rates a window whose frames grow costly steps down to, in turn
STRAIN_WINDOW = 30  # frames judged together (half a second at 60 fps)
STRAINED_FRAMES = 3  # this many strained frames among them: step down
CALM_FRAMES = 150  # this many calm frames in a row (5-7 s): try the next faster rate again


class FrameRate:
    """The render timer's interval, stepped down when frames grow costly and back up when calm.

    A frame is costly when its own work (CPU time of the GUI thread, not wall time, which also counts
    waiting for a core) took over half the interval: then a lower rate frees the core for the frames
    that remain. Late frames alone do not count. On the saturated machine
    (16 workers on 2 cores, bench/gui_frames.py --compare) the long gaps hold little of the GUI's
    own CPU (4-28 ms within 100-340 ms gaps): they are waits for a core, and stepping down on them
    made it worse, p99 52.6 ms at 30 fps against 28.4 ms at a fixed 60 fps in the same run, 201 ms
    at 20 fps against 66 ms in another (wall-time work, which preemption inflates). A frame is calm
    when its work would fit the next faster rate with room.
    """

    def __init__(self, fps: float, *, adaptive: bool = True) -> None:
        rates = (fps, *(f for f in STEPS_FPS if f < fps)) if adaptive else (fps,)
        self._intervals = tuple(1000.0 / f for f in rates)
        self.level = 0
        self._strained: list[bool] = []
        self._calm = 0

    @property
    def interval_ms(self) -> int:
        return max(1, int(self._intervals[self.level]))

    def record(self, interval_ms: float, work_ms: float) -> bool:
        """Account one frame (its gap since the previous one and its work); whether the interval
        changed. The gap only tells a real frame from the first one (which has none)."""
        if interval_ms != interval_ms:  # the first frame has no gap
            return False
        target = self._intervals[self.level]
        strained = work_ms > 0.5 * target
        self._strained = [*self._strained[-(STRAIN_WINDOW - 1) :], strained]
        faster = self._intervals[self.level - 1] if self.level else None
        calm = faster is not None and work_ms < 0.35 * faster
        self._calm = self._calm + 1 if calm else 0
        if sum(self._strained) >= STRAINED_FRAMES and self.level + 1 < len(self._intervals):
            return self._move(+1)
        if self._calm >= CALM_FRAMES:
            return self._move(-1)
        return False

    def _move(self, step: int) -> bool:
        self.level += step
        self._strained, self._calm = [], 0
        return True
