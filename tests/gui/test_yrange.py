"""The y axis top: round, grows at once, shrinks only well below, never under the plot's floor."""

from __future__ import annotations

import math

import pytest

from asgiscope.gui.yrange import next_top, round_up


@pytest.mark.parametrize(
    ("x", "top"), [(0.3, 0.5), (1.0, 1.0), (1.01, 2.0), (3.0, 5.0), (7.0, 10.0), (4_321.0, 5_000.0)]
)
def test_round_up_picks_one_two_or_five_times_a_power_of_ten(x: float, top: float) -> None:
    assert round_up(x) == pytest.approx(top)


def test_the_top_grows_at_once_and_shrinks_only_well_below_it() -> None:
    top = next_top(None, 3_800.0, floor=10.0)
    assert top == 5_000.0
    # the data wander below the top: it stays put (no repaint of the axis and the view)
    for peak in (4_400.0, 2_100.0, 3_000.0):
        assert next_top(top, peak, floor=10.0) == top
    assert next_top(top, 4_700.0, floor=10.0) == 10_000.0  # 4,700 x 1.1 no longer fits under 5,000
    assert next_top(top, 1_500.0, floor=10.0) == 2_000.0  # under 40 %: give the room back


def test_an_empty_or_idle_plot_keeps_its_floor() -> None:
    assert next_top(None, 0.0, floor=100.0) == 100.0
    assert next_top(None, math.nan, floor=10.0) == 10.0
    assert next_top(200.0, 20.0, floor=100.0) == 100.0
