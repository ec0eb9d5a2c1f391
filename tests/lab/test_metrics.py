"""Metrics from hand-made telemetry batches and load reports: no server, no load process, no clock."""

from __future__ import annotations

import numpy as np
import pytest

from asgiscope.server import protocol
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.load import hist
from asgiscope.server.load.spec import LoadReport
from asgiscope.server.protocol import RECORD_DTYPE, Batch

NS = 1_000_000_000
STEP_S = 0.05  # how often a worker's batch arrives, as the emitter's flush does


def records(kind: int, t_s: np.ndarray, **fields: object) -> np.ndarray:
    """Records of one kind made at ``t_s``; ``fields`` are named as in that kind's view."""
    out = np.zeros(t_s.size, RECORD_DTYPE)
    out["kind"] = kind
    view = out.view(protocol.VIEWS[kind])
    time_field = "end_ns" if kind == protocol.KIND_REQUEST else "t_ns"
    view[time_field] = np.round(t_s * NS).astype(np.int64)
    if kind == protocol.KIND_REQUEST:
        view["start_ns"] = view["end_ns"] - 1_000_000
    for name, value in fields.items():
        view[name] = value
    return out


def feed_requests(m: Metrics, rates: dict[int, float], t0: float, t1: float) -> None:
    """Each worker's requests at an even ``rate``, arriving in batches every STEP_S as they happen."""
    for step in range(round((t1 - t0) / STEP_S)):
        end = t0 + (step + 1) * STEP_S
        for pid, rate in rates.items():
            per_step = round(rate * STEP_S)
            times = t0 + (step * per_step + np.arange(per_step)) / rate
            m.add_batches([Batch(pid, step, records(protocol.KIND_REQUEST, times))], end)


def test_server_rate_and_each_workers_share() -> None:
    m = Metrics()
    feed_requests(m, {11: 600.0, 22: 300.0}, 100.0, 103.0)
    assert m.server_rps(103.0) == pytest.approx(900, rel=0.03)
    assert m.server_requests == 2700
    one, two = m.workers(103.0, [11, 22])
    assert (one.requests, two.requests) == (1800, 900)
    assert one.share == pytest.approx(2 / 3, abs=0.02) and two.share == pytest.approx(1 / 3, abs=0.02)
    assert one.throughput_rps == pytest.approx(600, rel=0.03)
    assert two.throughput_rps == pytest.approx(300, rel=0.03)


def test_a_silent_worker_has_no_share() -> None:
    m = Metrics()
    feed_requests(m, {11: 500.0}, 10.0, 12.0)
    busy, idle = m.workers(12.0, [11, 33])
    assert (busy.share, idle.share) == (1.0, 0.0)
    assert idle.throughput_rps == 0.0 and idle.requests == 0


def test_late_telemetry_moves_the_server_window_back() -> None:
    m = Metrics()
    feed_requests(m, {11: 500.0}, 50.0, 52.0)
    assert m.server_lag_s(52.0) == pytest.approx(STEP_S + 0.05, abs=0.01)
    # A worker whose loop was blocked sends 1.2 s of requests at once: the window waits for them.
    late = records(protocol.KIND_REQUEST, np.arange(52.0, 53.2, 0.002))
    m.add_batches([Batch(11, 999, late)], 53.2)
    assert m.server_lag_s(53.2) == pytest.approx(1.25, abs=0.01)
    assert m.server_rps(53.2) == pytest.approx(500, rel=0.03)  # not read low from a half-filled window
    assert m.server_lag_s(57.0) == m.lag_s  # delays older than 3 s no longer count


def test_pool_state_is_the_latest_record() -> None:
    m = Metrics()
    t = np.array([1.0, 1.1])
    pool = records(protocol.KIND_POOL, t, tokens=40, in_flight=[3, 9], borrowed=[12, 40], waiting=[0, 5])
    m.add_batches([Batch(5, 0, pool)], 1.2)
    [w] = m.workers(1.2, [5])
    assert (w.pool_total, w.in_flight, w.pool_busy, w.pool_waiting) == (40, 9, 40, 5)


def test_loop_lag_is_the_worst_within_the_window() -> None:
    m = Metrics(window_s=1.0)
    lag = records(
        protocol.KIND_LAG, np.array([100.0, 100.5, 101.8]), lag_ns=[5_000_000, 200_000_000, 10_000_000]
    )
    m.add_batches([Batch(5, 0, lag)], 101.9)
    assert m.workers(101.2, [5])[0].loop_lag_ms == pytest.approx(200.0)
    assert m.workers(102.0, [5])[0].loop_lag_ms == pytest.approx(10.0)  # the 200 ms stall slid out


def test_forgotten_workers_keep_what_they_served() -> None:
    m = Metrics()
    feed_requests(m, {11: 100.0, 22: 100.0}, 0.0, 1.0)
    m.forget_workers({22})
    assert [(w.pid, w.requests) for w in m.gone()] == [(11, 100)]  # a dead worker's work still counts
    assert m.server_requests == 200  # the server's total keeps what it counted
    # Listed again (its telemetry came before the tree listed it): its count comes back with it.
    assert [w.requests for w in m.workers(1.0, [11, 22])] == [100, 100] and m.gone() == []


def report(t: float, completed: int, latency_us: int, **extra: object) -> LoadReport:
    h = hist.new_histogram()
    for _ in range(completed):
        hist.record_us(h, latency_us)
    fields: dict[str, object] = {"sent": completed, "in_flight": 4, **extra}
    return LoadReport(
        t=t, interval_s=0.1, completed=completed, ok=completed, histogram=hist.encode(h), **fields
    )  # type: ignore[arg-type]


def test_client_figures_from_load_reports() -> None:
    m = Metrics()
    t = np.arange(10.1, 12.05, 0.1)  # 20 reports, 100 ms apart, 50 responses of 20 ms each
    m.add_reports(
        [
            report(float(x), 50, 20_000, errors={"status_5xx": 1}, cpu_percent=40.0, wait_percent=10.0)
            for x in t
        ]
    )
    c = m.client(12.05)
    assert c.rps == pytest.approx(500, rel=0.03)
    assert c.sent_rps == pytest.approx(500, rel=0.03)
    assert c.requests == 1000
    assert c.errors == {"status_5xx": 20}
    assert c.in_flight == 4
    assert (c.cpu_percent, c.wait_percent) == (pytest.approx(40.0), pytest.approx(10.0))
    assert c.latency.p50_ms == pytest.approx(20.0, rel=0.01) and c.latency.p99_ms == pytest.approx(
        20.0, rel=0.01
    )
    assert c.latency.count == 750  # the last 1.5 s of reports
    assert c.latency_total.count == 1000
    m.reset_client()
    fresh = m.client(12.05)
    assert (fresh.requests, fresh.errors, fresh.latency_total.count, fresh.rps) == (0, {}, 0, 0.0)


def test_open_loop_overflow_adds_up() -> None:
    m = Metrics()
    m.add_reports([report(1.0 + i / 10, 10, 5_000, overflow=3) for i in range(5)])
    assert m.client(1.5).overflow == 15
