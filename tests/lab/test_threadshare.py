"""Thread CPU shares from THREADS samples, and what the Lab says about them (the GIL made visible)."""

from __future__ import annotations

import numpy as np
import pytest

from asgiscope.server.lab.gil_notes import gil_notes
from asgiscope.server.lab.snapshot import ThreadStats, WorkerStats
from asgiscope.server.lab.threadshare import STALE_S, ThreadShares
from asgiscope.server.protocol import THREADS_VIEW

S = 1_000_000_000


def samples(*rows: tuple[int, float, float]) -> np.ndarray:
    """(tid, t seconds, CPU seconds) rows as THREADS records."""
    out = np.zeros(len(rows), dtype=THREADS_VIEW)
    for i, (tid, t, cpu) in enumerate(rows):
        out[i]["thread"], out[i]["t_ns"], out[i]["cpu_ns"] = tid, int(t * S), int(cpu * S)
    return out


def test_a_share_is_cpu_over_wall_time_between_a_threads_own_samples() -> None:
    shares = ThreadShares()
    # thread 1 runs half the time, thread 2 a quarter; sampled 4 times a second, at slightly different times
    shares.add(samples(*((1, 10 + k / 4, 5 + k / 8) for k in range(9))))
    shares.add(samples(*((2, 10.01 + k / 4, 1 + k / 16) for k in range(9))))
    got = shares.shares(now=12.1, window_s=1.0)
    assert [s.tid for s in got] == [1, 2]  # busiest first
    assert got[0].cpu_percent == pytest.approx(50.0)
    assert got[1].cpu_percent == pytest.approx(25.0)


def test_the_window_is_the_last_second_not_the_whole_history() -> None:
    shares = ThreadShares()
    # busy for 2 s, then idle for the last second
    shares.add(samples(*((1, k / 4, min(k / 4, 2.0)) for k in range(13))))
    [s] = shares.shares(now=3.0, window_s=1.0)
    assert s.cpu_percent == pytest.approx(0.0)


def test_one_sample_has_no_share_and_stale_or_repeated_samples_change_nothing() -> None:
    shares = ThreadShares()
    shares.add(samples((1, 10.0, 1.0)))
    assert shares.shares(now=10.0, window_s=1.0) == ()
    shares.add(samples((1, 11.0, 1.5), (1, 10.5, 9.0), (1, 11.0, 9.0)))  # late and repeated: ignored
    assert shares.shares(now=11.0, window_s=1.0) == (ThreadStats(1, pytest.approx(50.0)),)
    # the thread ended: no sample for STALE_S, and it is gone
    assert shares.shares(now=11.0 + STALE_S + 0.1, window_s=1.0) == ()


def worker(pid: int, *cpu: float) -> WorkerStats:
    return WorkerStats(pid=pid, threads=tuple(ThreadStats(100 + i, c) for i, c in enumerate(cpu)))


def test_busy_threads_and_their_sum() -> None:
    w = worker(1, 12.0, 12.5, 11.0, 3.0, 0.0)
    assert w.busy_threads == 3
    assert w.threads_cpu_percent == pytest.approx(38.5)


def test_one_worker_many_threads_one_core() -> None:
    lines = gil_notes("cpu/sync", (worker(7, *[12.2] * 8, 2.0),), cores=2)
    assert lines == [
        "8 threads are working; together they get 1.00 of a core: the GIL lets one run at a time."
    ]


def test_threads_short_of_a_core_say_the_machine_took_the_rest() -> None:
    [line] = gil_notes("cpu/sync", (worker(7, *[5.5] * 8),), cores=2)
    assert line.startswith("8 threads are working; together they get 0.44 of a core")
    assert line.endswith("(the machine's other processes took the rest of that core).")


def test_two_workers_two_cores() -> None:
    lines = gil_notes("cpu/async", (worker(1, 95.0, 1.0), worker(2, 94.0, 0.5)), cores=2)
    assert lines == ["2 workers, 2 cores: together 1.9 cores: each process has a GIL of its own."]
    crowded = gil_notes("cpu/sync", (worker(1, 48.0, 47.0), worker(2, 30.0, 30.0, 25.0), worker(3)), cores=2)
    assert crowded[0].startswith(
        "In each of 2 workers 2-3 threads are working; together they get at most 0.95"
    )
    assert crowded[1].startswith("2 workers, 2 cores: together 1.8 cores")  # worker 3 has no samples yet


def test_nothing_to_say_for_io_or_before_samples() -> None:
    assert gil_notes("io/sync", (worker(1, 50.0, 50.0),), cores=2) == []
    assert gil_notes("cpu/sync", (worker(1),), cores=2) == []
