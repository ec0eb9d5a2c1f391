"""Many workers' series as one summary: the median per time step, the min-max band, the outliers named.

Sixteen or thirty-two lines of the same kind are a tangle nobody can read and a legend that does not
fit; what a viewer wants from them is "how busy is a typical worker, how far apart are they, and which
one stands out". Pure numpy, computed from a Snapshot's series for the plots (which never compute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUMMARY_ABOVE = 5  # per-worker plots draw one line per worker up to this many, a summary past it
RECENT = 50  # samples (5 s at 10 Hz) an outlier is judged over: what the viewer sees right now
OUTLIERS = 2  # at most this many named: a third line brings back the tangle
OUTLIER_SPREAD = 0.25  # a worker this far from the median of recent means (relative) stands out...
OUTLIER_FLOOR = 2.0  # ...and at least this far in the series' units (% of a core, ms): noise is not news


@dataclass(frozen=True, slots=True)
class Spread:
    """Per time step over ``count`` series: median, lowest and highest (NaN where none had a value)."""

    count: int
    median: np.ndarray = field(default_factory=lambda: np.zeros(0))
    low: np.ndarray = field(default_factory=lambda: np.zeros(0))
    high: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # keys of the series that stand out over the recent samples, the farthest first, with which side
    outliers: tuple[tuple[object, str], ...] = ()


def worker_keys(cpu: Mapping[str, np.ndarray]) -> list[str]:
    """The CPU series that are workers ("worker 1234"), not the master, load or GUI processes."""
    return [key for key in cpu if key.startswith("worker ")]


def spread(series: Mapping[Any, np.ndarray], keys: Sequence[Any] | None = None, *, length: int) -> Spread:
    """The spread of ``series`` (only ``keys`` if given), each aligned to the last ``length`` samples."""
    keys = list(series) if keys is None else keys
    if not keys or length <= 0:
        return Spread(count=len(keys))
    rows = np.full((len(keys), length), np.nan)
    for i, key in enumerate(keys):
        values = series[key][-length:]
        if len(values):
            rows[i, length - len(values) :] = values
    seen = ~np.all(np.isnan(rows), axis=0)
    median, low, high = (np.full(length, np.nan) for _ in range(3))
    if seen.any():
        median[seen] = np.nanmedian(rows[:, seen], axis=0)
        low[seen] = np.nanmin(rows[:, seen], axis=0)
        high[seen] = np.nanmax(rows[:, seen], axis=0)
    return Spread(len(keys), median, low, high, _outliers(keys, rows[:, -RECENT:]))


def _outliers(keys: Sequence[Any], recent: np.ndarray) -> tuple[tuple[object, str], ...]:
    live = ~np.all(np.isnan(recent), axis=1)
    if live.sum() < 3:  # with two, neither is "the odd one out"
        return ()
    with np.errstate(all="ignore"):
        means = np.where(live, np.nanmean(np.where(np.isnan(recent), np.nan, recent), axis=1), np.nan)
    centre = float(np.nanmedian(means))
    away = np.abs(means - centre)
    enough = max(OUTLIER_FLOOR, OUTLIER_SPREAD * abs(centre))
    order = [int(i) for i in np.argsort(-np.nan_to_num(away, nan=-1.0)) if away[i] >= enough]
    return tuple((keys[i], "high" if means[i] > centre else "low") for i in order[:OUTLIERS])
