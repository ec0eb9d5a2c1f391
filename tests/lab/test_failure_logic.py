"""What the Lab makes of deaths, without processes: the prediction, the insight lines, the journal, the
per-worker counts of workers that are gone. (tests/test_failures.py provokes them for real.)"""

from __future__ import annotations

import numpy as np
import pytest

from asgiscope.server.lab.insight import Figures, client_bound, insights
from asgiscope.server.lab.journal import Journal
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.lab.snapshot import TreeEvent, WorkerStats
from asgiscope.server.lab.watchdog import timeout_kill
from asgiscope.server.launch.events import WorkerEvent
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.protocol import KIND_REQUEST, Batch
from asgiscope.server.scenario import Scenario
from asgiscope.server.supervision import GUNICORN_TIMEOUT_ENV, GUNICORN_TIMEOUT_S, gunicorn_timeout_s
from asgiscope.server.theory import Prediction, loop_blocked_s, predict
from tests.lab.test_metrics import records

GUNICORN = Scenario(server="gunicorn", workers=2)
BLOCKING_1S = LoadSpec(endpoint="io/blocking", ms=1000, users=100)  # the run


def test_gunicorns_real_default_timeout_and_only_tests_shorten_it() -> None:
    assert GUNICORN_TIMEOUT_S == 30
    assert gunicorn_timeout_s({}) == 30
    assert gunicorn_timeout_s({GUNICORN_TIMEOUT_ENV: "2"}) == 2
    for junk in ("0", "-1", "2.5", "soon", ""):
        assert gunicorn_timeout_s({GUNICORN_TIMEOUT_ENV: junk}) == 30


def test_a_queue_that_blocks_the_loop_past_the_timeout_is_predicted_to_get_workers_killed() -> None:
    # 50 users per worker x 1 s: each loop is stuck ~50 s at a stretch, past gunicorn's 30 s.
    assert loop_blocked_s(GUNICORN, BLOCKING_1S) == pytest.approx(50.0)
    p = predict(GUNICORN, BLOCKING_1S, cores=2)
    assert p.limit == "loop" and "WORKER TIMEOUT" in p.explanation and "30 s timeout" in p.explanation
    # Each worker lives about one timeout (30 requests), then the arbiter and a new worker take time.
    assert 1.5 < p.throughput_rps < 2.0
    # uvicorn's supervisor pings from a thread: the same queue is slow there, not fatal.
    alive = predict(Scenario(workers=2), BLOCKING_1S, cores=2)
    assert "WORKER TIMEOUT" not in alive.explanation and alive.throughput_rps == pytest.approx(2.0, rel=0.01)
    # A short queue never blocks the loop that long.
    short = predict(GUNICORN, LoadSpec(endpoint="io/blocking", ms=100, users=20), cores=2)
    assert "WORKER TIMEOUT" not in short.explanation
    # Awaiting instead of blocking: the loop is free, whatever the queue.
    assert loop_blocked_s(GUNICORN, LoadSpec(endpoint="io/async", ms=1000, users=100)) == 0.0


def test_a_request_longer_than_the_timeout_never_finishes() -> None:
    p = predict(
        Scenario(server="gunicorn", workers=1),
        LoadSpec(endpoint="io/blocking", ms=5000, users=2),
        cores=2,
        gunicorn_timeout_s=2,
    )
    assert p.throughput_rps == 0 and "finishing 0 requests each" in p.explanation
    assert p.latency_ms == float("inf")


def test_an_open_loop_past_capacity_queues_up_to_its_cap() -> None:
    over = LoadSpec(endpoint="cpu/async", ms=100, mode="open", rate=50.0, max_in_flight=2000)
    assert loop_blocked_s(GUNICORN, over) == pytest.approx(1000 * 0.1)
    assert "WORKER TIMEOUT" in predict(GUNICORN, over, cores=2).explanation
    under = LoadSpec(endpoint="cpu/async", ms=100, mode="open", rate=5.0)
    assert loop_blocked_s(GUNICORN, under) == pytest.approx(0.1)


def test_a_timeout_event_crosses_the_pipe() -> None:
    line = WorkerEvent("timeout", 123, 1.0, timeout_s=30.0).to_line()
    assert WorkerEvent.from_line(line) == WorkerEvent("timeout", 123, 1.0, timeout_s=30.0)
    assert timeout_kill(30.0) == (
        "WORKER TIMEOUT, its event loop was blocked for 30 s (no heartbeat), so gunicorn sent SIGABRT"
    )


def figures(failures: tuple[TreeEvent, ...], shares: tuple[float, float] = (0.9, 0.1)) -> Figures:
    return Figures(
        load=LoadSpec(endpoint="io/async", ms=100, users=100),
        load_running=True,
        client_rps=500.0,
        server_rps=500.0,
        sent_rps=500.0,
        client_cpu_percent=30.0,
        client_wait_percent=0.0,
        overflow=0,
        prediction=Prediction(1000.0, 100.0, "users", "100 users each wait 100 ms"),
        workers=tuple(WorkerStats(pid=i + 1, share=s) for i, s in enumerate(shares)),
        warm=True,
        failures=failures,
    )


def say(f: Figures) -> tuple[str, ...]:
    return insights(f, client_bound(f))


def test_uneven_shares_are_uneven_accept_only_while_nobody_died() -> None:
    assert any(line.startswith("Uneven accept") for line in say(figures(())))
    died = (TreeEvent(4.0, "worker_exited", 7, "killed by SIGKILL", -9),)
    lines = say(figures(died))
    assert lines[0].startswith("Worker 7 died (killed by SIGKILL) at 4.0 s")
    # Neither the note nor the below-prediction hint blames accept().
    assert not any("Uneven accept" in line or "(uneven accept)" in line for line in lines), lines
    assert any(line.startswith("Below prediction: a worker died under load") for line in lines)


def test_a_worker_timeout_is_the_top_line_and_its_exit_is_not_told_twice() -> None:
    kill = TreeEvent(31.0, "worker_killed", 123, timeout_kill(30.0))
    lines = say(figures((kill, TreeEvent(31.0, "worker_exited", 123, "killed by SIGABRT", -6))))
    assert lines[0].startswith(
        "gunicorn killed worker 123: WORKER TIMEOUT, its event loop was blocked for 30 s"
    )
    assert not any(line.startswith("Worker 123 died") for line in lines)


def test_a_scale_down_is_no_failure_but_a_load_death_is() -> None:
    clock = iter(np.arange(0.0, 100.0, 1.0))
    journal = Journal(lambda: float(next(clock)))
    journal.event("worker_exited", 1, "killed by SIGKILL", -9)  # before the load: not this run's
    journal.load_started()
    journal.event("worker_retired", 2, "scaled down (killed by SIGTERM)", -15)
    journal.event("worker_started", 3, "replace")
    journal.event("load_died", 4, "killed by SIGKILL", -9)
    journal.event("load_respawned", 5)
    assert [(e.kind, e.pid) for e in journal.failures()] == [("load_died", 4)]
    lines = say(figures(journal.failures(), (0.5, 0.5)))
    assert lines[0].startswith("The load generator died (killed by SIGKILL)")


def test_a_gone_worker_keeps_what_it_served() -> None:
    m = Metrics()
    m.add_batches([Batch(11, 0, records(KIND_REQUEST, np.linspace(1.0, 1.5, 30)))], 2.0)
    m.add_batches([Batch(12, 0, records(KIND_REQUEST, np.linspace(1.0, 1.5, 20)))], 2.0)
    assert [w.requests for w in m.workers(2.0, [11, 12])] == [30, 20]
    m.forget_workers({12})  # 11 died
    assert [(w.pid, w.alive, w.requests) for w in m.gone()] == [(11, False, 30)]
    # A last datagram of the dead worker, late: added to what it served, still gone.
    m.add_batches([Batch(11, 1, records(KIND_REQUEST, np.linspace(1.6, 1.7, 5)))], 2.1)
    m.forget_workers({12})
    assert [(w.pid, w.requests) for w in m.gone()] == [(11, 35)]
    assert m.server_requests == sum(w.requests for w in (*m.workers(2.1, [12]), *m.gone())) == 55
