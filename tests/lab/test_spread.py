"""Many workers' series summarised: median, min-max band, named outliers (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from asgiscope.server.lab.spread import OUTLIERS, spread, worker_keys


def test_median_low_and_high_per_time_step() -> None:
    series = {1: np.array([1.0, 2.0, 3.0]), 2: np.array([3.0, 2.0, 1.0]), 3: np.array([2.0, 8.0, 2.0])}
    s = spread(series, length=3)
    assert s.count == 3
    assert list(s.median) == [2.0, 2.0, 2.0]
    assert list(s.low) == [1.0, 2.0, 1.0]
    assert list(s.high) == [3.0, 8.0, 3.0]


def test_short_and_gappy_series_align_to_the_newest_samples() -> None:
    # a worker that started late has fewer samples: they are the newest ones
    series = {1: np.array([1.0, 1.0, 1.0, 1.0]), 2: np.array([5.0, np.nan]), 3: np.array([np.nan, np.nan])}
    s = spread(series, length=4)
    assert list(s.high) == [1.0, 1.0, 5.0, 1.0]
    assert list(s.median) == [1.0, 1.0, 3.0, 1.0]


def test_a_time_step_no_series_has_stays_empty_without_warnings() -> None:
    with np.errstate(all="raise"):
        s = spread({1: np.array([np.nan, 2.0]), 2: np.array([np.nan, 4.0])}, length=2)
    assert np.isnan(s.median[0]) and s.median[1] == 3.0


def test_the_workers_that_stand_out_are_named_farthest_first() -> None:
    n = 100
    series = {pid: np.full(n, 20.0 + (pid % 3)) for pid in range(1, 17)}
    series[7] = np.full(n, 90.0)  # hot
    series[9] = np.full(n, 2.0)  # starved
    s = spread(series, length=n)
    assert s.outliers == ((7, "high"), (9, "low"))
    assert len(s.outliers) <= OUTLIERS


def test_similar_workers_have_no_outlier() -> None:
    rng = np.random.default_rng(1)
    series = {pid: 30.0 + rng.normal(0, 1.0, 200) for pid in range(32)}
    assert spread(series, length=200).outliers == ()


def test_only_the_recent_samples_decide_an_outlier() -> None:
    series = {pid: np.full(200, 10.0) for pid in range(8)}
    series[3] = np.concatenate([np.full(150, 80.0), np.full(50, 10.0)])  # was hot, no longer
    assert spread(series, length=200).outliers == ()


@pytest.mark.parametrize("keys", [[], ["worker 1"]])
def test_nothing_or_one_series(keys: list[str]) -> None:
    series = {"worker 1": np.array([4.0])}
    s = spread(series, keys, length=1)
    assert s.count == len(keys) and s.outliers == ()


def test_worker_keys_leave_out_the_master_load_and_gui() -> None:
    cpu = {"master": np.zeros(1), "worker 12": np.zeros(1), "load 3": np.zeros(1), "gui": np.zeros(1)}
    assert worker_keys(cpu) == ["worker 12"]
