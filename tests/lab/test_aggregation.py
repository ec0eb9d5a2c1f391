"""Bins, latency windows and series: the arithmetic behind every number on screen."""

import math

import numpy as np
import pytest

from asgiscope.server.lab.bins import Bins
from asgiscope.server.lab.latency import LatencyWindow
from asgiscope.server.lab.series import SeriesRecorder
from asgiscope.server.load.hist import encode, new_histogram


def test_bins_rate_from_event_times() -> None:
    b = Bins(width_s=0.1, horizon_s=10)
    b.add_many(np.arange(100.0, 110.0, 0.002))  # 500 events/s for 10 s
    assert b.rate(110.0, 1.0, lag_s=0.1) == pytest.approx(500, rel=0.01)
    assert b.total == 5000


@pytest.mark.parametrize("t", [2.0, 50.0, 1234.5, 987654.3])
def test_bins_spread_reports_over_their_interval(t: float) -> None:
    b = Bins()
    for i in range(50):  # 10 reports/s of 30 each, not aligned with bin edges
        b.add_span(t + i * 0.1 + 0.037, t + (i + 1) * 0.1 + 0.037, 30)
    for now in np.arange(t + 3.0, t + 5.0, 0.05):
        assert b.rate(float(now), 1.0, 0.1) == pytest.approx(300, rel=0.02)
    # every 100 ms bin got its own share, not two reports' worth or none
    assert b.sum(t + 4.0, 0.1, 0.0) == pytest.approx(30, rel=0.02)


def test_bins_forget_what_is_past_the_horizon() -> None:
    b = Bins(width_s=0.1, horizon_s=2.0)
    b.add(10.0, 100)
    assert b.sum(10.5, 1.0) == 100
    assert b.sum(20.0, 1.0) == 0
    assert b.total == 100


def test_latency_window_matches_hdrhistogram() -> None:
    h = new_histogram()
    rng = np.random.default_rng(1)
    for v in rng.lognormal(11, 0.5, 5000).astype(int):
        h.record_value(int(v))
    w = LatencyWindow(window_s=1.5)
    w.add_encoded(10.0, encode(h))
    lat = w.window(10.5)
    assert lat.count == 5000
    assert lat.p50_ms == pytest.approx(h.get_value_at_percentile(50) / 1000)
    assert lat.p99_ms == pytest.approx(h.get_value_at_percentile(99) / 1000)
    assert w.window(12.0).count == 0  # slid out of the window
    assert w.total().count == 5000  # but kept in the total


def test_latency_merges_histograms_not_percentiles() -> None:
    fast, slow = new_histogram(), new_histogram()
    for _ in range(900):
        fast.record_value(1_000)  # 1 ms
    for _ in range(100):
        slow.record_value(500_000)  # 500 ms
    w = LatencyWindow()
    w.add_encoded(1.0, encode(fast))
    w.add_encoded(1.1, encode(slow))
    lat = w.window(1.2)
    assert lat.p50_ms == pytest.approx(1.0, rel=0.01)
    assert lat.p99_ms == pytest.approx(500, rel=0.01)


def test_series_keyed_rows_come_and_go() -> None:
    s = SeriesRecorder(history_s=1.0, hz=10)
    s.record(0.0, {"client_rps": 1.0}, {"master": 1.0}, {})
    s.record(0.1, {"client_rps": 2.0}, {"master": 1.0, "worker 7": 50.0}, {7: 3.0})
    out = s.series()
    assert out.t.tolist() == [0.0, 0.1]
    assert math.isnan(out.cpu["worker 7"][0]) and out.cpu["worker 7"][1] == 50.0
    assert out.loop_lag_ms[7].tolist()[1] == 3.0
    for i in range(2, 14):  # worker 7 gone: its row ages out of the 10-sample history
        s.record(i / 10, {}, {"master": 1.0}, {})
    out = s.series()
    assert len(out.t) == 10
    assert "worker 7" not in out.cpu and 7 not in out.loop_lag_ms
