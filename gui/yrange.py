"""The top of a plot's y axis: a round number that moves only when the data outgrow it or shrink well
below it (no Qt).

pyqtgraph's auto-range follows every new maximum, so at the load ceiling each redraw moved the y range,
and a moved range repaints the axis and the whole view; at 60 fps that was most of the GUI's CPU. A
round top (1, 2 or 5 times a power of ten) that grows at once and shrinks only when the data fall below
``SHRINK_BELOW`` of it changes a few times a minute instead.
"""

from __future__ import annotations

import math

SHRINK_BELOW = 0.4  # give back room only when the data use less than this share of the axis
HEADROOM = 1.1  # the data's maximum sits at most at 1 / HEADROOM of the axis


def round_up(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above ``x`` (x > 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10.0 * power


def next_top(current: float | None, data_max: float, floor: float) -> float:
    """The axis top to show for data peaking at ``data_max``, given the ``current`` top (None: none yet).

    ``floor``: the least top the plot ever shows (an empty plot keeps a sensible scale)."""
    if not math.isfinite(data_max) or data_max <= 0:
        data_max = 0.0
    wanted = max(floor, round_up(data_max * HEADROOM) if data_max > 0 else floor)
    if current is None or data_max * HEADROOM > current or data_max < SHRINK_BELOW * current:
        return wanted
    return current
