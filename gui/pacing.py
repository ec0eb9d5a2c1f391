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
